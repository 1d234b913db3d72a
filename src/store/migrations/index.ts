/**
 * Every store migration, in code so a bundled or installed Voxgate never globs the file system.
 * Names sort in the order they run; append new ones, never edit or rename a released one.
 */
import type { Migration, MigrationProvider } from 'kysely';
import { callRecordsMigration } from './0001-call-records.js';
import { turnsAndRecordingsMigration } from './0002-turns-and-recordings.js';
import { outboundAndCampaignsMigration } from './0003-outbound-and-campaigns.js';
import { managementMigration } from './0004-management.js';
import { transfersMigration } from './0005-transfers.js';
import { recordingStatusMigration } from './0006-recording-status.js';
import { callInstanceMigration } from './0007-call-instance.js';
import { gatewayInstancesMigration } from './0008-gateway-instances.js';
import { widgetKeysMigration } from './0009-widget-keys.js';

export const storeMigrations: Readonly<Record<string, Migration>> = {
  '0001-call-records': callRecordsMigration,
  '0002-turns-and-recordings': turnsAndRecordingsMigration,
  '0003-outbound-and-campaigns': outboundAndCampaignsMigration,
  '0004-management': managementMigration,
  '0005-transfers': transfersMigration,
  '0006-recording-status': recordingStatusMigration,
  '0007-call-instance': callInstanceMigration,
  '0008-gateway-instances': gatewayInstancesMigration,
  '0009-widget-keys': widgetKeysMigration,
};

export const storeMigrationProvider: MigrationProvider = {
  getMigrations: async () => ({ ...storeMigrations }),
};
