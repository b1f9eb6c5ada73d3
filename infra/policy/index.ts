/** The tickstream policy pack: `pulumi preview --policy-pack infra/policy`. The only place that builds it. */
import { PolicyPack } from "@pulumi/policy";
import { RESOURCE_POLICIES, STACK_POLICIES } from "./rules.ts";

new PolicyPack("tickstream", { policies: [...RESOURCE_POLICIES, ...STACK_POLICIES] });
