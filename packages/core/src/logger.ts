/** Logging and progress. Libraries default to silence; the CLI brings its own implementations. */

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

/** One unit of long-running work, reported when it starts and when it ends. */
export interface ProgressStep {
  /** Intermediate detail (bytes pulled, nodes ready). */
  update(detail: string): void;
  succeed(detail?: string): void;
  fail(error?: unknown): void;
}

export interface Progress {
  start(title: string): ProgressStep;
}

const noop = () => {};

export const silentLogger: Logger = Object.freeze({ debug: noop, info: noop, warn: noop, error: noop });

const silentStep: ProgressStep = Object.freeze({ update: noop, succeed: noop, fail: noop });
export const silentProgress: Progress = Object.freeze({ start: () => silentStep });

/** Runs `fn` as a progress step: started, then succeeded or failed with its duration. */
export async function withStep<T>(progress: Progress, title: string, fn: (step: ProgressStep) => Promise<T>): Promise<T> {
  const step = progress.start(title);
  try {
    const result = await fn(step);
    step.succeed();
    return result;
  } catch (err) {
    step.fail(err);
    throw err;
  }
}
