// The patch form's checks before submit: every field, token lengths from the kernel, answers.
import type { Metric, MetricInfo, ModelInfo, PatchKind, Tokens } from './protocol';

export interface FormState {
  model: string;
  kind: PatchKind;
  metric: Metric;
  clean: string;
  corrupted: string;
  correct: string;
  incorrect: string;
}

export interface FormCheck {
  ready: boolean;
  pending: boolean; // waiting for the kernel to tokenize the current text
  issues: string[];
  notes: string[];
}

function quoted(tokens: readonly string[]): string {
  return tokens.map((t) => JSON.stringify(t)).join(' ');
}

/** Whether the form can be submitted, and what to tell the user (pure: the tests call it directly). */
export function checkForm(form: FormState, model: ModelInfo | undefined, metric: MetricInfo | undefined, tokens: Tokens | null): FormCheck {
  const issues: string[] = [];
  const notes: string[] = [];
  if (!model) {
    return { ready: false, pending: false, issues: ['Choose a model.'], notes };
  }
  if (!model.has_tokenizer) issues.push(`${model.name} has no tokenizer, so it cannot patch from prompts.`);
  if (!model.patch_kinds.includes(form.kind)) issues.push(`${model.name} cannot run this patch kind (attention-only model?).`);
  if (!form.clean && !form.corrupted && !form.correct && !form.incorrect) {
    return { ready: false, pending: false, issues, notes: ['Fill in the prompts and answers; their token lengths are checked as you type.'] };
  }
  if (!form.clean) issues.push('Enter the clean prompt.');
  if (!form.corrupted) issues.push('Enter the corrupted prompt.');
  if (!form.correct.length) issues.push('Enter the correct answer.');
  const needsIncorrect = metric?.needs_incorrect ?? true;
  if (needsIncorrect && !form.incorrect.length) issues.push('Enter the incorrect answer (this metric compares the two).');
  if (issues.length) return { ready: false, pending: false, issues, notes };

  const answers = needsIncorrect ? [form.correct, form.incorrect] : [form.correct];
  const fresh =
    tokens !== null &&
    tokens.model === form.model &&
    tokens.prompts.length === 2 &&
    tokens.prompts[0].text === form.clean &&
    tokens.prompts[1].text === form.corrupted &&
    tokens.answers.length === answers.length &&
    tokens.answers.every((a, i) => a.text === answers[i]);
  if (!fresh || tokens === null) {
    return { ready: false, pending: true, issues, notes: ['Checking token lengths…'] };
  }
  const [clean, corrupted] = tokens.prompts.map((p) => p.n_tokens);
  if (clean !== corrupted) {
    issues.push(`The clean prompt is ${clean} tokens and the corrupted prompt ${corrupted}: patching needs the same number of tokens.`);
  } else {
    notes.push(`${clean} tokens each (with BOS).`);
  }
  for (const [what, n] of [
    ['clean', clean],
    ['corrupted', corrupted]
  ] as const) {
    if (n > tokens.n_ctx) issues.push(`The ${what} prompt is ${n} tokens; ${model.name} takes at most ${tokens.n_ctx}.`);
  }
  tokens.answers.forEach((a, i) => {
    const what = i === 0 ? 'correct' : 'incorrect';
    if (a.tokens.length !== 1) {
      issues.push(`The ${what} answer ${JSON.stringify(a.text)} is ${a.tokens.length} tokens (${quoted(a.tokens)}); it must be one token.`);
    }
  });
  if (tokens.answers.length === 2 && tokens.answers[0].tokens.length === 1 && tokens.answers[0].tokens[0] === tokens.answers[1].tokens[0]) {
    issues.push('The correct and incorrect answers are the same token.');
  }
  return { ready: issues.length === 0, pending: false, issues, notes };
}
