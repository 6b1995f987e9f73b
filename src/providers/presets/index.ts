import github from './github.json' with { type: 'json' };
import googleCalendar from './google-calendar.json' with { type: 'json' };
import ownerrez from './ownerrez.json' with { type: 'json' };
import slack from './slack.json' with { type: 'json' };

/**
 * Shipped provider presets; each is used only when its `${…}` credentials are set. GitHub's tools
 * come from github-openapi.json (scripts/github-openapi.ts trims it from GitHub's official
 * description), read from this folder at start-up.
 */
export const presets: readonly unknown[] = [ownerrez, github, googleCalendar, slack];

export const ownerrezPreset: unknown = ownerrez;
