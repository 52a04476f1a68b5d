// The patch form's example job, shown as its placeholders and filled in by "Use the example".
// The embedded models (lenslab/attn-only-2l, lenslab/gelu-2l) are trained on Python source, so
// the example is code, not an IOI sentence: the clean prompt names `height`, the corrupted one
// `length`, and the model should repeat the name it saw. Kept as plain JSON between the markers:
// tests/lenslab/comm/test_example_job.py reads it and measures both models' logit differences.

export interface ExampleJob {
  clean: string;
  corrupted: string;
  correct: string;
  incorrect: string;
}

// example-job-json-start
export const EXAMPLE_JOB: ExampleJob = {
  "clean": "area = width * height\nprint(area)\narea = width *",
  "corrupted": "area = width * length\nprint(area)\narea = width *",
  "correct": " height",
  "incorrect": " length"
};
// example-job-json-end
