/** ext:google against the Cloud Datastore emulator (scripts/services.sh starts it from the Google Cloud CLI). */
import { describeServerConformance } from '../helpers/server-stores.js';

await describeServerConformance((label) => label.startsWith('ext:google'));
