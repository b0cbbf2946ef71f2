// Runs once in jest's parent process before workers start (they inherit its environment).
// WebGPU tests run on Dawn over SwiftShader when the machine has no GPU: the Vulkan loader
// reads these variables once, at the first adapter request, so they must be set up front.
const fs = require('node:fs');

module.exports = async () => {
  const icd = '/usr/lib/chromium/vk_swiftshader_icd.json';
  const hasGpu = ['/dev/dri/renderD128', '/dev/nvidia0', '/dev/dxg'].some((d) => fs.existsSync(d));
  if (!hasGpu && !process.env.VK_ICD_FILENAMES && fs.existsSync(icd)) process.env.VK_ICD_FILENAMES = icd;
  if (!process.env.XDG_RUNTIME_DIR) process.env.XDG_RUNTIME_DIR = '/tmp';
};
