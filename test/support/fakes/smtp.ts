// A fake SMTP server (smtp-server, STARTTLS disabled) that requires AUTH, parses each message with mailparser, and
// on demand rejects recipients (permanently or for now), drops connections, or never answers DATA.
import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export const SMTP_USER = 'mailer';
export const SMTP_PASSWORD = 'smtp-password-secret';

export interface SmtpMessage {
  from: string;
  to: string[];
  parsed: ParsedMail;
  raw: string;
}

type Mode =
  { kind: 'ok' } | { kind: 'reject'; code: number; count: number } | { kind: 'hang' } | { kind: 'down' };

export interface FakeSmtp {
  port: number;
  messages: SmtpMessage[];
  /** The next `count` messages are refused at RCPT TO with `code` (550 permanent, 451 transient). */
  rejectNext(count: number, code: number): void;
  /** DATA is never answered (the client must time out). */
  hang(): void;
  /** Every connection is refused with 421. */
  down(): void;
  recover(): void;
  close(): Promise<void>;
}

const smtpError = (code: number, message: string) =>
  Object.assign(new Error(message), { responseCode: code });

export async function startFakeSmtp(): Promise<FakeSmtp> {
  const messages: SmtpMessage[] = [];
  let mode: Mode = { kind: 'ok' };
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    authMethods: ['PLAIN', 'LOGIN'],
    logger: false,
    onConnect(_session, callback) {
      if (mode.kind === 'down') return callback(smtpError(421, 'Service not available, closing channel'));
      callback();
    },
    onAuth(auth, _session, callback) {
      if (auth.username === SMTP_USER && auth.password === SMTP_PASSWORD)
        return callback(null, { user: auth.username });
      callback(smtpError(535, 'Authentication credentials invalid'));
    },
    onRcptTo(address, _session, callback) {
      if (mode.kind === 'reject' && mode.count > 0) {
        mode.count -= 1;
        const code = mode.code;
        if (mode.count === 0) mode = { kind: 'ok' };
        return callback(
          smtpError(code, code >= 500 ? `${address.address}: mailbox unavailable` : 'Try again later'),
        );
      }
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        if (mode.kind === 'hang') return; // never answers
        const raw = Buffer.concat(chunks).toString('utf8');
        simpleParser(raw)
          .then((parsed) => {
            messages.push({
              from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
              to: session.envelope.rcptTo.map((r) => r.address),
              parsed,
              raw,
            });
            callback();
          })
          .catch((error: Error) => callback(error));
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  return {
    port,
    messages,
    rejectNext(count, code) {
      mode = { kind: 'reject', code, count };
    },
    hang() {
      mode = { kind: 'hang' };
    },
    down() {
      mode = { kind: 'down' };
    },
    recover() {
      mode = { kind: 'ok' };
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
