import { defineConfig } from "vitest/config";

/** The vitest settings every package uses: tests in test/ (and src/**), mocks reset between tests. */
export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 30_000,
    restoreMocks: true,
    unstubEnvs: true,
  },
});
