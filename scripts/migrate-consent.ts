// Applies the STOP/START replies the old Twilio webhook recorded in lead fields nothing read (`consent_sms`,
// `consent_whatsapp`) through the consent store, and deletes those fields (src/consent/backfill.ts). Safe to run again.
// Run: npm run migrate:consent [-- --dry-run], with the engine's environment (REDIS_URL or REDIS_CLUSTER_NODES,
// QUEUE_PREFIX, ...). Prints counts per organization, never a phone number.
import { createEngine } from '../src/app.js';
import { loadConfig } from '../src/config/config.js';
import {
  backfillOutcomes,
  backfillReplyConsent,
  replyChannels,
  type OrgBackfill,
} from '../src/consent/backfill.js';
import { createLogger } from '../src/observability/logger.js';

const args = process.argv.slice(2);
const unknown = args.filter((arg) => arg !== '--dry-run');
if (unknown.length > 0) {
  console.error(`unknown argument ${unknown[0]}; usage: npm run migrate:consent [-- --dry-run]`);
  process.exit(2);
}
const dryRun = args.includes('--dry-run');

/** One line per organization: `org_… 1200 leads, 3 migrated; sms: opted_out 2, ...; whatsapp: ...` */
function describe(report: OrgBackfill): string {
  const channels = replyChannels.flatMap((channel) => {
    const counts = backfillOutcomes
      .filter((outcome) => report.outcomes[channel][outcome] > 0)
      .map((outcome) => `${outcome} ${report.outcomes[channel][outcome]}`);
    return counts.length > 0 ? [`${channel}: ${counts.join(', ')}`] : [];
  });
  const withoutPhone =
    report.optedOutWithoutPhone > 0
      ? [`${report.optedOutWithoutPhone} opted out without a phone number`]
      : [];
  return [
    `${report.orgId} ${report.leadsScanned} leads, ${report.leadsMigrated} ${dryRun ? 'to migrate' : 'migrated'}`,
    ...channels,
    ...withoutPhone,
  ].join('; ');
}

const config = loadConfig();
const engine = await createEngine(config, createLogger(config.LOG_LEVEL));
try {
  if (dryRun) console.log('dry run: nothing is written');
  const reports = await backfillReplyConsent(engine, {
    dryRun,
    onOrg: (report) => console.log(describe(report)),
  });
  const migrated = reports.reduce((sum, report) => sum + report.leadsMigrated, 0);
  console.log(
    `${reports.length} organizations, ${migrated} leads ${dryRun ? 'to migrate' : 'migrated'} (prefix ${config.QUEUE_PREFIX})`,
  );
} finally {
  await engine.close();
}
