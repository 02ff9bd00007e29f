import * as crypto from 'crypto';

export function createHmacSha256(secret: string, url: string, data: any): string {
  const message = url + JSON.stringify(data);
  const hmac = crypto.createHmac('sha256', secret);
  hmac.update(message);
  return hmac.digest('hex');
}
