/** Drawing on canvases: the loss curve and an attention heatmap. */
import type { AttentionMap } from './session.js';

function setup(canvas: HTMLCanvasElement): CanvasRenderingContext2D {
  const ctx = canvas.getContext('2d')!;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  return ctx;
}

/** Loss per step as a polyline, y from the smallest to the largest loss seen. */
export function drawLoss(canvas: HTMLCanvasElement, losses: readonly number[]): void {
  const ctx = setup(canvas);
  const { width, height } = canvas;
  const pad = 32;
  ctx.strokeStyle = '#999';
  ctx.strokeRect(pad, 8, width - pad - 8, height - pad - 8);
  if (!losses.length) return;
  const lo = Math.min(...losses);
  const hi = Math.max(...losses);
  const span = hi - lo || 1;
  const x = (i: number) => pad + ((width - pad - 8) * i) / Math.max(1, losses.length - 1);
  const y = (v: number) => 8 + (height - pad - 8) * (1 - (v - lo) / span);
  ctx.strokeStyle = '#1f6feb';
  ctx.lineWidth = 2;
  ctx.beginPath();
  losses.forEach((v, i) => (i ? ctx.lineTo(x(i), y(v)) : ctx.moveTo(x(i), y(v))));
  ctx.stroke();
  ctx.fillStyle = '#333';
  ctx.font = '11px sans-serif';
  ctx.fillText(hi.toFixed(2), 2, 16);
  ctx.fillText(lo.toFixed(2), 2, height - pad);
  ctx.fillText(`step ${losses.length}`, width - 60, height - 8);
}

/** One head's weights as a grid (dark = high weight); row = query, column = key. */
export function drawHeatmap(canvas: HTMLCanvasElement, map: AttentionMap, labels: readonly string[]): void {
  const ctx = setup(canvas);
  const n = map.size;
  const margin = 14;
  const cell = Math.max(1, Math.floor((Math.min(canvas.width, canvas.height) - margin) / n));
  let max = 0;
  for (const w of map.weights) max = Math.max(max, w);
  for (let q = 0; q < n; q++) {
    for (let k = 0; k < n; k++) {
      const v = map.weights[q * n + k] / (max || 1);
      const shade = Math.round(255 * (1 - v));
      ctx.fillStyle = `rgb(${shade}, ${shade}, 255)`;
      ctx.fillRect(margin + k * cell, margin + q * cell, cell, cell);
    }
  }
  ctx.fillStyle = '#333';
  ctx.font = `${Math.min(10, cell)}px monospace`;
  if (cell >= 6) {
    labels.slice(0, n).forEach((label, i) => {
      ctx.fillText(label.slice(0, 1), margin + i * cell + 1, margin - 3);
      ctx.fillText(label.slice(0, 1), 2, margin + (i + 1) * cell - 1);
    });
  }
}
