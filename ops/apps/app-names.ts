/** The apps that run as services on a stack's broker hosts. Their own file, so that the CLI can check an app's name without loading the bundler. */
export type AppName = "producer" | "consumer" | "rollup";
export const APP_NAMES: readonly AppName[] = ["producer", "consumer", "rollup"];
