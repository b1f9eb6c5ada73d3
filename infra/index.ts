/**
 * The Pulumi program (Pulumi.yaml's main): validate the stack's config before declaring any resource,
 * then declare the stack and export the outputs the ops CLI reads.
 */
import * as pulumi from "@pulumi/pulumi";
import { readRawStackConfig } from "./read-config.ts";
import { declareTickstream } from "./stack.ts";

const outputs = declareTickstream(readRawStackConfig(), pulumi.getStack());

export const brokerPublicIps = outputs.brokerPublicIps;
export const brokerPrivateIps = outputs.brokerPrivateIps;
export const brokerInstanceIds = outputs.brokerInstanceIds;
export const bootstrapServers = outputs.bootstrapServers;
export const sshUser = outputs.sshUser;
export const sshPort = outputs.sshPort;
export const lakeBucket = outputs.lakeBucket;
export const glueDatabase = outputs.glueDatabase;
export const crawlerName = outputs.crawlerName;
export const athenaWorkgroup = outputs.athenaWorkgroup;
export const region = outputs.region;
export const internalBootstrapServers = outputs.internalBootstrapServers;
export const quotesFunctionName = outputs.quotesFunctionName;
export const quotesLogGroup = outputs.quotesLogGroup;
export const kafkaCaCertificate = outputs.kafkaCaCertificate;
export const kafkaCredentialParameters = outputs.kafkaCredentialParameters;
export const kafkaKeystoreParameters = outputs.kafkaKeystoreParameters;
