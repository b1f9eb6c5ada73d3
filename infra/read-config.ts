/** Reads the stack's Pulumi config into the raw shape that `validateStackConfig` checks. */
import * as pulumi from "@pulumi/pulumi";
import type { RawStackConfig } from "./config.ts";

export function readRawStackConfig(): RawStackConfig {
  const config = new pulumi.Config("tickstream");
  const aws = new pulumi.Config("aws");
  return {
    region: aws.get("region"),
    instanceType: config.get("instanceType"),
    brokerCount: config.getNumber("brokerCount"),
    kafkaVersion: config.get("kafkaVersion"),
    allowedCidrs: config.getObject<unknown>("allowedCidrs"),
    sshPublicKey: config.get("sshPublicKey"),
    topicPartitions: config.getNumber("topicPartitions"),
    topicRetentionHours: config.getNumber("topicRetentionHours"),
    crawlerSchedule: config.get("crawlerSchedule"),
    forceDestroy: config.getBoolean("forceDestroy"),
    vpcCidr: config.get("vpcCidr"),
    dataVolumeGb: config.getNumber("dataVolumeGb"),
    amiId: config.get("amiId"),
    quotePoller: config.getObject<unknown>("quotePoller"),
    quotesApiKey: config.getSecret("quotesApiKey"),
    icebergSnapshotRetentionDays: config.getNumber("icebergSnapshotRetentionDays"),
    icebergSnapshotsToRetain: config.getNumber("icebergSnapshotsToRetain"),
    icebergOrphanFileRetentionDays: config.getNumber("icebergOrphanFileRetentionDays"),
  };
}
