// SecureStrings in SSM Parameter Store: how secrets reach the functions on AWS
// without being written into the template or the Lambda environment.
import type { Config } from './config.ts';

/**
 * The decrypted value, or undefined when the parameter does not exist or is
 * empty. Any other failure (no permission, throttling) is thrown: the cold
 * start fails and is retried, rather than running without the secret. The
 * client is imported only here, so functions that need no secret never load it.
 */
export async function readSecureParameter(config: Pick<Config, 'region' | 'awsEndpoint'>, name: string): Promise<string | undefined> {
  const { GetParameterCommand, ParameterNotFound, SSMClient } = await import('@aws-sdk/client-ssm');
  const local = config.awsEndpoint ? { endpoint: config.awsEndpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } } : {};
  const ssm = new SSMClient({ region: config.region, ...local });
  try {
    const result = await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
    return result.Parameter?.Value?.trim() || undefined;
  } catch (error) {
    if (error instanceof ParameterNotFound) return undefined;
    throw error;
  } finally {
    ssm.destroy();
  }
}
