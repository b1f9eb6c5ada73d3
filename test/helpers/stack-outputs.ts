/** Stack outputs that suites over SSH or moto need to be present but never use: the catalog's names. */
export const UNUSED_CATALOG_OUTPUTS = {
  lakeBucket: "tickstream-test-lake",
  glueDatabase: "tickstream_test",
  crawlerName: "tickstream-test-crawler",
  athenaWorkgroup: "tickstream-test",
  region: "us-east-1",
} as const;
