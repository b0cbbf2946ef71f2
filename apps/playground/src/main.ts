/** The playground page: wires the form to a Session and draws what it reports. */
import 'reflect-metadata';
import { tf } from '@weft/core';
import { untagBrown } from '@weft/tasks';
import taggedBrown from 'virtual:brown-sample';
import { selectBackend, type BackendChoice } from './backend.js';
import { ATTENTION_CHOICES, DEFAULT_SELECTION, FEEDFORWARD_CHOICES, MIXER_CHOICES, POSITIONAL_CHOICES, type Choice, type Selection } from './choices.js';
import { drawHeatmap, drawLoss } from './plots.js';
import { PLAYGROUND_TASKS, Session, type AttentionMap, type DataChoice } from './session.js';

const TEXT = untagBrown(taggedBrown);

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const status = $<HTMLParagraphElement>('status');

function fillSelect(id: string, choices: readonly Choice[], value: string): void {
  const select = $<HTMLSelectElement>(id);
  select.innerHTML = choices.map((c) => `<option value="${c.kind}">${c.label}${c.from === '@weft/nn' ? '' : ` — ${c.from}`}</option>`).join('');
  select.value = value;
}

fillSelect('positional', POSITIONAL_CHOICES, DEFAULT_SELECTION.positional);
fillSelect('attention', ATTENTION_CHOICES, DEFAULT_SELECTION.attention);
fillSelect('mixer', MIXER_CHOICES, DEFAULT_SELECTION.mixer);
fillSelect('feedforward', FEEDFORWARD_CHOICES, DEFAULT_SELECTION.feedforward);
$<HTMLSelectElement>('data').innerHTML =
  `<option value="text">Brown Corpus sample (${(TEXT.length / 1024).toFixed(1)} KB)</option>` +
  PLAYGROUND_TASKS.map((t) => `<option value="task:${t}">synthetic: ${t}</option>`).join('');

function readSelection(): Selection {
  const num = (id: string) => Number($<HTMLInputElement>(id).value);
  const str = (id: string) => $<HTMLSelectElement>(id).value;
  return {
    positional: str('positional'),
    attention: str('attention'),
    mixer: str('mixer'),
    feedforward: str('feedforward'),
    dModel: num('dModel'),
    layers: num('layers'),
    heads: num('heads'),
    seqLen: num('seqLen'),
  };
}

function readData(): DataChoice {
  const value = $<HTMLSelectElement>('data').value;
  return value.startsWith('task:') ? { kind: 'task', task: value.slice(5) } : { kind: 'text', text: TEXT };
}

function setStatus(text: string, error = false): void {
  status.textContent = text;
  status.classList.toggle('error', error);
}

let session: Session | undefined;
let stopRequested = false;
let maps: AttentionMap[] = [];

/** Lets the event loop draw between steps. */
const yieldToPage = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

function showHeatmap(): void {
  const canvas = $<HTMLCanvasElement>('heatmap');
  const note = $<HTMLParagraphElement>('heatmap-note');
  const select = $<HTMLSelectElement>('head');
  if (!session) return;
  const ids = session.sampleIds();
  maps = session.attentionMaps(ids);
  const previous = select.value;
  select.innerHTML = maps.map((m, i) => `<option value="${i}">layer ${m.layer}, head ${m.head}</option>`).join('');
  if (!maps.length) {
    canvas.getContext('2d')!.clearRect(0, 0, canvas.width, canvas.height);
    note.textContent = 'No layer reports attention weights: flash and linear kernels never form the L×L matrix, and minGRU has none.';
    canvas.dataset.drawn = 'false';
    return;
  }
  if (previous && Number(previous) < maps.length) select.value = previous;
  const map = maps[Number(select.value) || 0];
  drawHeatmap(canvas, map, session.labels(ids));
  note.textContent = `Softmax weights of layer ${map.layer}, head ${map.head} on the first ${map.size} tokens (row: query, column: key).`;
  canvas.dataset.drawn = 'true';
}

$<HTMLSelectElement>('head').addEventListener('change', () => {
  const map = maps[Number($<HTMLSelectElement>('head').value)];
  if (map && session) drawHeatmap($<HTMLCanvasElement>('heatmap'), map, session.labels(session.sampleIds()));
});

async function train(): Promise<void> {
  const trainButton = $<HTMLButtonElement>('train');
  const stopButton = $<HTMLButtonElement>('stop');
  trainButton.disabled = true;
  stopButton.disabled = false;
  $<HTMLButtonElement>('generate').disabled = true;
  stopRequested = false;
  document.body.dataset.state = 'training';
  try {
    setStatus('Starting the backend…');
    const { backend, notes } = await selectBackend($<HTMLSelectElement>('backend').value as BackendChoice);
    $('backend-in-use').textContent = backend + (notes.length ? ` (skipped: ${notes.join('; ')})` : '');
    document.body.dataset.backend = backend;
    session?.dispose();
    session = undefined;
    session = new Session(readSelection(), readData());
    $('parameters').textContent = session.model.numParameters().toLocaleString();
    const steps = Number($<HTMLInputElement>('steps').value);
    setStatus(`Training on ${backend}…`);
    for (let i = 0; i < steps && !stopRequested; i++) {
      const { step, loss, tokensPerSecond } = await session.trainStep();
      $('step').textContent = String(step);
      $('loss-value').textContent = loss.toFixed(4);
      $('tokens-per-second').textContent = Math.round(tokensPerSecond).toLocaleString();
      drawLoss($<HTMLCanvasElement>('loss'), session.losses);
      if (step % 25 === 0) showHeatmap();
      await yieldToPage();
    }
    showHeatmap();
    const extra = session.task ? (() => {
      const { accuracy, exactMatch } = session.taskAccuracy();
      return ` Answer accuracy ${(accuracy * 100).toFixed(1)}%, exact match ${(exactMatch * 100).toFixed(1)}%.`;
    })() : '';
    setStatus(`Trained ${session.losses.length} steps on ${backend}.${extra} Tensors alive: ${tf.memory().numTensors}.`);
    document.body.dataset.state = 'trained';
  } catch (error) {
    setStatus((error as Error).message, true);
    document.body.dataset.state = 'error';
  } finally {
    trainButton.disabled = false;
    stopButton.disabled = true;
    $<HTMLButtonElement>('generate').disabled = !session;
  }
}

function generateText(): void {
  if (!session) return;
  const output = $<HTMLPreElement>('output');
  try {
    if (session.task) {
      const { accuracy, exactMatch } = session.taskAccuracy();
      output.textContent = `Greedy answers on 16 fresh rows: accuracy ${(accuracy * 100).toFixed(1)}%, exact match ${(exactMatch * 100).toFixed(1)}%.`;
    } else {
      const prompt = $<HTMLInputElement>('prompt').value;
      const maxNewTokens = Math.max(1, Math.round(Number($<HTMLInputElement>('max-tokens').value) || 48));
      output.textContent = prompt + session.generateText(prompt, maxNewTokens);
    }
    document.body.dataset.generated = 'true';
  } catch (error) {
    output.textContent = (error as Error).message;
    document.body.dataset.generated = 'error';
  }
}

$('train').addEventListener('click', () => void train());
$('stop').addEventListener('click', () => (stopRequested = true));
$('generate').addEventListener('click', generateText);

/** For tests and the console: what the page has done so far. */
(window as unknown as { weftPlayground: unknown }).weftPlayground = {
  losses: () => session?.losses.slice() ?? [],
  backend: () => tf.getBackend(),
  readbackCheck: () => (session ? session.readbackCheck() : Promise.reject(new Error('train first'))),
};

drawLoss($<HTMLCanvasElement>('loss'), []);
setStatus('Ready. Pick the pieces and press Train.');
document.body.dataset.state = 'ready';
