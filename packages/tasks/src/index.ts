/**
 * @weft/tasks — data for training Weft models: tokenizers, text datasets and sources, and
 * seeded synthetic tasks with their metrics. Browser-safe; reading files from disk and the
 * bundled Brown Corpus live in `@weft/tasks/node`.
 */
export type { Tokenizer, TokenizerSpecials } from './tokenizers/tokenizer.js';
export { ByteTokenizer } from './tokenizers/byte-tokenizer.js';
export { CharTokenizer, type CharTokenizerJSON } from './tokenizers/char-tokenizer.js';

export { splitTrainValidation, type TrainValidationSplit } from './text/split-train-validation.js';
export { TextDataset, type TextWindow } from './text/text-dataset.js';
export {
  LanguageModelingSource,
  languageModelingOptionsSchema,
  type LanguageModelingOptions,
  type LanguageModelingState,
} from './text/language-modeling-source.js';
export { evalBatches, evalBatchesOptionsSchema, type EvalBatchesOptions } from './text/eval-batches.js';
export { untagBrown, untagSentence } from './text/untag-brown.js';

export { PAD_ID, type SyntheticTask, type TaskSample, type TaskScore } from './synthetic/task.js';
export { SequenceTask, type TaskRow } from './synthetic/sequence-task.js';
export { scoreAnswers } from './synthetic/score-answers.js';
export { CopyTask, copyOptionsSchema, type CopyOptions } from './synthetic/copy.js';
export { SelectiveCopyTask, selectiveCopyOptionsSchema, type SelectiveCopyOptions } from './synthetic/selective-copy.js';
export {
  AssociativeRecallTask,
  associativeRecallOptionsSchema,
  type AssociativeRecallOptions,
} from './synthetic/associative-recall.js';
export { InductionHeadsTask, inductionHeadsOptionsSchema, type InductionHeadsOptions } from './synthetic/induction-heads.js';
export {
  LISTOPS_OPERATORS,
  evaluateListOps,
  parseListOps,
  formatListOps,
  listOpsTokens,
  generateListOps,
  maxListOpsTokens,
  type ListOpsExpression,
  type ListOpsOperator,
  type ListOpsLimits,
} from './synthetic/listops-expression.js';
export { ListOpsTokenizer } from './synthetic/listops-tokenizer.js';
export { ListOpsTask, listOpsOptionsSchema, type ListOpsOptions } from './synthetic/listops.js';
export { PasskeyTask, passkeyOptionsSchema, type PasskeyOptions } from './synthetic/passkey.js';
export { AdditionTask, additionOptionsSchema, type AdditionOptions } from './synthetic/addition.js';
export { SortingTask, sortingOptionsSchema, type SortingOptions } from './synthetic/sorting.js';
export { TASKS, TASK_OPTIONS, createTask, type TaskFactory } from './synthetic/registry.js';
export { TaskSource, taskSource, taskSourceOptionsSchema, type TaskSourceOptions, type TaskSourceState } from './synthetic/task-source.js';
