/** An S3 bucket with every public-access block, default encryption, TLS-only access, and lifecycle rules. */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

export interface SecureBucketArgs {
  readonly forceDestroy: boolean;
  readonly versioning: boolean;
  readonly lifecycleRules: aws.types.input.s3.BucketLifecycleConfigurationRule[];
  readonly tags: Record<string, string>;
}

export class SecureBucket extends pulumi.ComponentResource {
  readonly bucket: aws.s3.Bucket;
  readonly arn: pulumi.Output<string>;
  readonly name: pulumi.Output<string>;

  constructor(name: string, args: SecureBucketArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tickstream:storage:SecureBucket", name, {}, opts);
    // A bucket that may not be emptied on destroy is kept with its guards: deleting the guards first and then
    // failing on BucketNotEmpty would leave the data unprotected (public-access block, TLS policy, versioning).
    const parent = { parent: this, retainOnDelete: !args.forceDestroy };
    this.bucket = new aws.s3.Bucket(name, { forceDestroy: args.forceDestroy, tags: args.tags }, parent);
    this.arn = this.bucket.arn;
    this.name = this.bucket.bucket;
    const publicAccess = new aws.s3.BucketPublicAccessBlock(
      `${name}-public-access`,
      {
        bucket: this.bucket.id,
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
      },
      parent,
    );
    new aws.s3.BucketServerSideEncryptionConfiguration(
      `${name}-encryption`,
      {
        bucket: this.bucket.id,
        rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" }, bucketKeyEnabled: true }],
      },
      parent,
    );
    if (args.versioning) {
      new aws.s3.BucketVersioning(
        `${name}-versioning`,
        { bucket: this.bucket.id, versioningConfiguration: { status: "Enabled" } },
        parent,
      );
    }
    new aws.s3.BucketLifecycleConfiguration(
      `${name}-lifecycle`,
      { bucket: this.bucket.id, rules: args.lifecycleRules },
      parent,
    );
    new aws.s3.BucketPolicy(
      `${name}-tls-only`,
      {
        bucket: this.bucket.id,
        policy: this.bucket.arn.apply((arn) =>
          JSON.stringify({
            Version: "2012-10-17",
            Statement: [
              {
                Sid: "DenyInsecureTransport",
                Effect: "Deny",
                Principal: "*",
                Action: "s3:*",
                Resource: [arn, `${arn}/*`],
                Condition: { Bool: { "aws:SecureTransport": "false" } },
              },
            ],
          }),
        ),
      },
      // The public-access block must exist first, or S3 may judge the policy public while it is being set.
      { ...parent, dependsOn: [publicAccess] },
    );
    this.registerOutputs({ arn: this.arn, name: this.name });
  }
}
