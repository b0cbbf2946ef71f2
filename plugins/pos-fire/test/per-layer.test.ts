import { createRegistry, useBackend } from '@weft/core';
import { buildModel, standard } from '@weft/nn';
import fire from '@weft/pos-fire';

test('a per-layer encoding has no unused model-level copy', async () => {
  await useBackend('cpu');
  const model = buildModel(createRegistry().use(standard, fire), { vocab: 8, dModel: 8, layers: 2, heads: 2, positional: { kind: 'fire' } });
  const names = model.namedParameters().map(([n]) => n);
  expect(names.filter((n) => n.startsWith('positional.'))).toEqual([]);
  expect(names.filter((n) => n.endsWith('positional.c'))).toEqual(['blocks.0.mixer.positional.c', 'blocks.1.mixer.positional.c']);
  model.dispose();
});
