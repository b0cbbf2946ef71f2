/**
 * The kept length r shared by a model's random-ltd reducers and a schedule.
 *
 * Design: reducers are built from JSON (no object can be passed in a config), so every
 * random-ltd reducer of one model resolves ONE controller from the model's container (per-model
 * state, never shared between models). A schedule (the trainer kind 'random-ltd-schedule')
 * writes `keep` before each step; it reaches the controller either through the same container
 * (when it is built with the model's container) or by `attach(model)`, which finds the
 * controller on the model's random-ltd reducers. `keep` undefined = use each reducer's option.
 */
import { StateError, type Module } from '@weft/core';
import type { DependencyContainer } from 'tsyringe';

export class RandomLtdController {
  /** Kept length r in tokens (or a fraction in (0, 1)); undefined defers to the reducers' `keep`. */
  keep: number | undefined = undefined;
}

/** The tsyringe token of a model's controller. */
export const RANDOM_LTD_CONTROLLER = Symbol.for('weft.reduce-random-ltd.controller');

/** The controller registered in `container` itself (not a parent), registering one if needed. */
export function controllerIn(container: DependencyContainer): RandomLtdController {
  if (!container.isRegistered(RANDOM_LTD_CONTROLLER, false)) container.registerInstance(RANDOM_LTD_CONTROLLER, new RandomLtdController());
  return container.resolve<RandomLtdController>(RANDOM_LTD_CONTROLLER);
}

/** The controller of a built model's random-ltd reducers. */
export function randomLtdController(model: Module): RandomLtdController {
  for (const [, m] of model.namedModules()) {
    const c = (m as { controller?: unknown }).controller;
    if (c instanceof RandomLtdController) return c;
  }
  throw new StateError(
    'This model has no random-ltd reducer, so a random-ltd schedule has nothing to control. Add { "at": i, "span": 1, "reducer": { "kind": "random-ltd" } } to the model\'s "reducers".',
  );
}
