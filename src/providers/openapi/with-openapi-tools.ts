import { ProvidersFileError } from '../providers-file-error.js';
import type { ProviderDefinition } from '../schema.js';
import { importTools } from './import-tools.js';
import { loadOpenApiSpec, OpenApiSpecError } from './load-spec.js';

/**
 * Completes providers that have an `openapi` option: their tools are the providers file's own
 * plus those generated from the document. Every problem of every provider is reported at once,
 * as for the rest of the providers file; `warn` hears about operations left out.
 */
export async function withOpenApiTools(
  providers: ProviderDefinition[],
  baseDir: string,
  source: string,
  warn: (message: string) => void = () => undefined,
): Promise<ProviderDefinition[]> {
  const problems: string[] = [];
  const out: ProviderDefinition[] = [];
  for (const provider of providers) {
    const options = 'openapi' in provider ? provider.openapi : undefined;
    if (!options) {
      out.push(provider);
      continue;
    }
    try {
      const result = importTools(await loadOpenApiSpec(options.spec, baseDir), options);
      if ('problems' in result) {
        problems.push(...result.problems.map((p) => `provider "${provider.id}" openapi: ${p}`));
        continue;
      }
      for (const skipped of result.skipped) warn(`provider "${provider.id}" openapi: ${skipped}; left out`);
      out.push({ ...provider, tools: [...provider.tools, ...result.tools] });
    } catch (err) {
      if (!(err instanceof OpenApiSpecError)) throw err;
      problems.push(`provider "${provider.id}" openapi: ${err.message}`);
    }
  }
  if (problems.length > 0) throw new ProvidersFileError(source, problems);
  return out;
}
