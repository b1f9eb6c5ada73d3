/**
 * The Kafka principals of a secured stack. Their own file, so that the CLI can check `tickstream credentials
 * rotate <principal>` without loading the bootstrap (security.ts).
 */

/** The principals of a stack: broker and controller (the cluster itself), ops (super user), and the apps. */
export const STACK_PRINCIPALS = ["broker", "controller", "ops", "producer", "consumer", "rollup"] as const;
export type StackPrincipal = (typeof STACK_PRINCIPALS)[number];
/** The principals whose passwords `tickstream credentials rotate` replaces. */
export const ROTATABLE_PRINCIPALS = ["producer", "consumer", "rollup", "ops"] as const;
export type RotatablePrincipal = (typeof ROTATABLE_PRINCIPALS)[number];
