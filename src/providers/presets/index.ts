import googleCalendar from './google-calendar.json' with { type: 'json' };
import ownerrez from './ownerrez.json' with { type: 'json' };
import slack from './slack.json' with { type: 'json' };

/**
 * Shipped provider presets; each is used only when its `${…}` credentials are set.
 * - OwnerRez: its v2 API documentation.
 * - Google Calendar: Calendar API v3 (developers.google.com/calendar/api/v3/reference), user consent
 *   with `access_type=offline` for a refresh token; the account is the id_token's `sub`.
 * - Slack: OAuth v2 with user scopes (`user_scope`), so tools act as the person, not a bot; the
 *   user token sits under `authed_user` in oauth.v2.access's answer. Web API methods as of 2026.
 */
export const presets: readonly unknown[] = [ownerrez, googleCalendar, slack];
