import type { ConnectFlowDeps } from '../connections/connect-flow.js';
import type { SignInCookies } from '../http/cookies.js';
import type { AuthenticateDeps } from '../auth/authenticator.js';
import type { CreationSlots } from '../keys/creation-slots.js';
import type { KeyService } from '../keys/key-service.js';
import type { IpLimiter } from '../limits/ip-limiter.js';
import type { LimitSettings } from '../limits/settings.js';
import type { Logger } from '../log.js';
import type { UsageRecorder } from '../usage/usage-recorder.js';

/** What the web page needs from the app: the same services and limiters the API uses. */
export interface WebDeps extends ConnectFlowDeps {
  log: Logger;
  keys: KeyService;
  /** The API's per-user bound on key creations in progress. */
  creations: CreationSlots;
  limits: LimitSettings;
  /** Signing in with a key goes through the API's own checks, including the per-address limit on refused keys. */
  auth: AuthenticateDeps;
  /** The per-address registration limit of POST /api/users/register. */
  registrations: IpLimiter;
  usage: UsageRecorder;
  /** The browser-binding cookie of the OAuth sign-in pages, reused to bind the web page's upstream logins. */
  browserCookies: SignInCookies;
}
