import ownerrez from './ownerrez.json' with { type: 'json' };

/** Shipped provider presets; each is used only when its `${…}` credentials are set. */
export const ownerrezPreset: unknown = ownerrez;
