// `serverless package --stage prod` offline, then the CloudFormation it produced: functions, routes, the EventBridge
// rule and bus, the Redis cluster, the Fargate services with autoscaling, the alarms, secrets and IAM.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);

describe('npm run package -- --stage prod (offline)', () => {
  let out: string;
  let template: any;
  const resource = (name: string) => template.Resources[name];
  const ofType = (type: string) =>
    Object.entries<any>(template.Resources).filter(([, r]) => r.Type === type) as [string, any][];

  beforeAll(async () => {
    out = mkdtempSync(path.join(tmpdir(), 'atlas-package-'));
    // No AWS credentials and no network: packaging must resolve everything locally.
    const env = {
      ...process.env,
      AWS_ACCESS_KEY_ID: '',
      AWS_SECRET_ACCESS_KEY: '',
      AWS_PROFILE: 'none-such',
    };
    await run('node_modules/.bin/serverless', ['package', '--stage', 'prod', '--package', out], {
      env,
      timeout: 170_000,
    });
    template = JSON.parse(readFileSync(path.join(out, 'cloudformation-template-update-stack.json'), 'utf8'));
  }, 180_000);
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('packages three arm64 nodejs22.x functions in the VPC, each its own bundle', () => {
    const functions = Object.fromEntries(ofType('AWS::Lambda::Function'));
    expect(Object.keys(functions).sort()).toEqual([
      'EventbridgeLambdaFunction',
      'HttpLambdaFunction',
      'IngestLambdaFunction',
    ]);
    for (const fn of Object.values<any>(functions)) {
      expect(fn.Properties.Runtime).toBe('nodejs22.x');
      expect(fn.Properties.Architectures).toEqual(['arm64']);
      expect(fn.Properties.VpcConfig.SubnetIds).toEqual({ 'Fn::Split': [',', { Ref: 'PrivateSubnetIds' }] });
      expect(fn.Properties.Handler).toMatch(/\.handler$/);
    }
    for (const name of ['ingest', 'http', 'eventbridge'])
      expect(statSync(path.join(out, `${name}.zip`)).size).toBeGreaterThan(100_000);
    expect(functions.IngestLambdaFunction.Properties.Handler).toBe('handlers/http/ingest.handler');
  });

  it('routes the ingest paths to the ingest function and the rest of /v1 to the management API', () => {
    const routes = Object.fromEntries(
      ofType('AWS::ApiGatewayV2::Route').map(([, r]) => [r.Properties.RouteKey, r.Properties.Target]),
    );
    const integrationOf = (key: string) => JSON.stringify(routes[key]);
    expect(Object.keys(routes).sort()).toEqual(
      [
        'ANY /v1/{proxy+}',
        'GET /healthz',
        'GET /metrics',
        'GET /ui',
        'GET /ui/{proxy+}',
        'GET /v1/t/c/{token}',
        'GET /v1/t/o/{token}',
        'GET /v1/webhooks/{orgId}/{source}',
        'POST /v1/events',
        'POST /v1/webhooks/{orgId}/{source}',
      ].sort(),
    );
    for (const key of ['POST /v1/events', 'POST /v1/webhooks/{orgId}/{source}', 'GET /v1/t/o/{token}'])
      expect(integrationOf(key)).toContain('HttpApiIntegrationIngest');
    expect(integrationOf('ANY /v1/{proxy+}')).toContain('HttpApiIntegrationHttp');
    for (const key of ['GET /metrics', 'GET /ui', 'GET /ui/{proxy+}'])
      expect(integrationOf(key)).toContain('HttpApiIntegrationHttp');
  });

  it('sends CRM events from the EventBridge rule through an SQS queue with a DLQ to the function, reporting per-record failures', () => {
    const rule = resource('CrmEventsRule').Properties;
    expect(rule.EventPattern).toEqual({ source: ['atlas.crm'] });
    expect(rule.Targets[0].Arn).toEqual({ 'Fn::GetAtt': ['CrmEventsQueue', 'Arn'] });
    expect(resource('CrmEventsQueue').Properties.RedrivePolicy.deadLetterTargetArn).toEqual({
      'Fn::GetAtt': ['CrmEventsDeadLetterQueue', 'Arn'],
    });
    const [, mapping] = ofType('AWS::Lambda::EventSourceMapping')[0]!;
    expect(mapping.Properties.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
    expect(resource('EngineEventBus').Properties.Name).toBe('atlas-automations-prod');
  });

  it('runs Redis OSS in cluster mode with TLS, encryption at rest and an auth token from SSM', () => {
    const redis = resource('RedisReplicationGroup').Properties;
    expect(redis).toMatchObject({
      Engine: 'redis',
      CacheParameterGroupName: 'default.redis7.cluster.on',
      NumNodeGroups: 2,
      ReplicasPerNodeGroup: 2,
      TransitEncryptionEnabled: true,
      AtRestEncryptionEnabled: true,
      AutomaticFailoverEnabled: true,
      CacheNodeType: 'cache.r7g.large',
    });
    expect(redis.AuthToken).toBe('{{resolve:ssm:/atlas/prod/redis-auth-token}}');
    const env = resource('IngestLambdaFunction').Properties.Environment.Variables;
    expect(env).toMatchObject({
      REDIS_TLS: 'true',
      REDIS_PASSWORD: '{{resolve:ssm:/atlas/prod/redis-auth-token}}',
      ADMIN_TOKEN: '{{resolve:ssm:/atlas/prod/admin-token}}',
      QUEUE_PREFIX: 'atlas-prod',
      ACTION_QUEUE_PARTITIONS: '4',
    });
    expect(JSON.stringify(env.REDIS_CLUSTER_NODES)).toContain('ConfigurationEndPoint.Address');
  });

  it('defines the worker and scheduler as Fargate services on ARM64, with secrets from SSM and log groups', () => {
    const services = Object.fromEntries(ofType('AWS::ECS::Service'));
    expect(Object.keys(services).sort()).toEqual(['SchedulerService', 'WorkerService']);
    expect(services.WorkerService.Properties).toMatchObject({ LaunchType: 'FARGATE', DesiredCount: 2 });
    const worker = resource('WorkerTaskDefinition').Properties;
    const scheduler = resource('SchedulerTaskDefinition').Properties;
    expect(worker.RuntimePlatform.CpuArchitecture).toBe('ARM64');
    expect(worker.ContainerDefinitions[0].Command).toEqual([
      'node',
      '--enable-source-maps',
      'worker/main.mjs',
    ]);
    expect(scheduler.ContainerDefinitions[0].Command).toEqual([
      'node',
      '--enable-source-maps',
      'scheduler/main.mjs',
    ]);
    expect(worker.ContainerDefinitions[0].Secrets.map((s: any) => s.Name).sort()).toEqual([
      'ADMIN_TOKEN',
      'REDIS_PASSWORD',
      'SETTINGS_ENCRYPTION_KEY',
      'TRACKING_SECRET',
    ]);
    expect(worker.ContainerDefinitions[0].LogConfiguration.Options['awslogs-group']).toEqual({
      Ref: 'WorkerLogGroup',
    });
    expect(resource('WorkerLogGroup').Properties.RetentionInDays).toBe(90);
  });

  it('scales workers on the Backlog metric between the stage bounds', () => {
    expect(resource('WorkerScalableTarget').Properties).toMatchObject({ MinCapacity: 2, MaxCapacity: 20 });
    const high = resource('BacklogHighAlarm').Properties;
    expect(high).toMatchObject({ MetricName: 'Backlog', Namespace: 'AtlasAutomations', Threshold: 2000 });
    expect(high.AlarmActions).toEqual([{ Ref: 'WorkerScaleOutPolicy' }]);
    expect(resource('BacklogLowAlarm').Properties.AlarmActions).toEqual([{ Ref: 'WorkerScaleInPolicy' }]);
  });

  it('alarms on dead-letter depth and on CRM events that reached the DLQ', () => {
    const dlq = resource('DeadLetterDepthAlarm').Properties;
    expect(dlq).toMatchObject({
      MetricName: 'DeadLetterDepth',
      Namespace: 'AtlasAutomations',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Dimensions: [{ Name: 'Stage', Value: 'prod' }],
    });
    expect(dlq.AlarmActions).toEqual([{ Ref: 'AlarmTopic' }]);
    expect(resource('CrmEventsDeadLetterAlarm').Properties.Namespace).toBe('AWS/SQS');
  });

  it('grants least privilege: PutEvents on the engine bus only, SSM reads of this stage only', () => {
    const lambdaPolicies = JSON.stringify(resource('IamRoleLambdaExecution').Properties.Policies);
    expect(lambdaPolicies).toContain('"events:PutEvents"');
    expect(lambdaPolicies).not.toMatch(/"Action":"\*"|"Resource":"\*"/);
    const statements = resource('WorkerTaskRole').Properties.Policies[0].PolicyDocument.Statement;
    expect(statements).toEqual([
      { Effect: 'Allow', Action: 'events:PutEvents', Resource: { 'Fn::GetAtt': ['EngineEventBus', 'Arn'] } },
    ]);
    const ssm = resource('TaskExecutionRole').Properties.Policies[0].PolicyDocument.Statement[0];
    expect(ssm.Action).toBe('ssm:GetParameters');
    for (const arn of ssm.Resource) expect(arn['Fn::Sub']).toMatch(/:parameter\/atlas\/prod\//);
  });

  it('takes the network from SSM-typed stack parameters, so nothing account-specific is in the template', () => {
    expect(template.Parameters.VpcId).toEqual(
      expect.objectContaining({
        Type: 'AWS::SSM::Parameter::Value<AWS::EC2::VPC::Id>',
        Default: '/atlas/prod/network/vpc-id',
      }),
    );
    expect(template.Parameters.PrivateSubnetIds.Default).toBe('/atlas/prod/network/private-subnet-ids');
    expect(JSON.stringify(template)).not.toMatch(/\b\d{12}\b(?!:)/);
  });
});
