dnl #
dnl # contrib/sendmail/subguard.m4 - subguard on Sendmail's MSAs (ports 587 and
dnl # 465) only.
dnl #
dnl # The .mc lines subguard needs, for Sendmail 8.14 or later (checked with
dnl # Debian 12's 8.17.1.9). Include this file from your sendmail.mc AFTER
dnl # OSTYPE() and your own DAEMON_OPTIONS() for port 25, and before the
dnl # MAILER() lines:
dnl #
dnl #   define(`SUBGUARD_SOCKET', `local:/run/subguard/subguard.sock')dnl
dnl #   include(`/etc/mail/subguard.m4')dnl
dnl #
dnl # or paste the lines between "divert(0)" and the end into the .mc, with
dnl # the two knobs written out. Then rebuild sendmail.cf (see README.md).
dnl #
dnl # Knobs, each optional, defined BEFORE the include:
dnl #
dnl #   SUBGUARD_SOCKET  where subguard listens, in Sendmail's spelling:
dnl #                    local:/run/subguard/subguard.sock (the default) or
dnl #                    inet:9025@127.0.0.1. subguard.conf's "listen" names
dnl #                    the same socket in libmilter's spelling
dnl #                    (unix:/run/subguard/subguard.sock, inet:9025@127.0.0.1).
dnl #   SUBGUARD_SMTPS   the address part of a second MSA with implicit TLS
dnl #                    (port 465, RFC 8314), e.g. `Port=465, Family=inet';
dnl #                    not defined: no such daemon. Define it whenever
dnl #                    Sendmail has a certificate (confSERVER_CERT): a
dnl #                    customer whose mail program uses 465 must meet
dnl #                    subguard too, or a hijacked account submits
dnl #                    through 465 unchecked (see README.md).
dnl #   SUBGUARD_MSA     the address part of the MSA's DAEMON_OPTIONS
dnl #                    (default `Port=submission, Family=inet'; add
dnl #                    `Addr=192.0.2.25' to listen on one address only,
dnl #                    Family=inet6 for IPv6. For both, add a second line
dnl #                    like the DAEMON_OPTIONS below yourself, with
dnl #                    Name=MSA-v6 and the same M= and InputMailFilters=).
dnl #
dnl # What the lines do, and why:
dnl #
dnl # FEATURE(`no_default_msa'): Sendmail otherwise adds its own MSA on port
dnl #   587 ("Port=587, Name=MSA, M=E"), which would neither require AUTH nor
dnl #   run subguard. Ours replaces it.
dnl #
dnl # DAEMON_OPTIONS(... Name=MSA, M=Ea, InputMailFilters=subguard):
dnl #   M=E   no ETRN on the submission port;
dnl #   M=a   AUTH required: "MAIL FROM" before a successful AUTH gets
dnl #         "530 5.7.0 Authentication required". Every message subguard
dnl #         sees on this port therefore has a SASL login ({auth_authen})
dnl #         to count against; unauthenticated mail never gets this far.
dnl #   InputMailFilters=subguard  subguard on THIS daemon only. Port 25 (MX
dnl #         traffic from other servers) is not authenticated customers'
dnl #         mail and must not be counted: your port-25 DAEMON_OPTIONS line
dnl #         has no InputMailFilters, and no global list names subguard.
dnl #
dnl # DAEMON_OPTIONS(... Name=MSA-TLS, M=Eas, InputMailFilters=subguard),
dnl #   with SUBGUARD_SMTPS only: the same MSA on port 465, where
dnl #   M=s   the session is TLS from the first byte (SMTPS; it needs the
dnl #         STARTTLS certificate settings), and the same E, a and filter.
dnl #   Without it a client that can submit on 465 goes around subguard.
dnl #
dnl # MAIL_FILTER, not INPUT_MAIL_FILTER: both define the filter (the "X" line
dnl #   of sendmail.cf), but INPUT_MAIL_FILTER also appends it to the global
dnl #   InputMailFilters option, which applies to every daemon without its own
dnl #   list, port 25 included. MAIL_FILTER defines it without that; the MSA
dnl #   names it itself. (If this host runs only the MSA, INPUT_MAIL_FILTER
dnl #   with the same equates works too.)
dnl #
dnl # F=T   subguard unreachable (not running, socket missing, or a timeout
dnl #   below): Sendmail tempfails the session. Seen with 8.17.1.9 and the
dnl #   socket missing: the log says "Milter (subguard): local socket name
dnl #   ... unsafe", "Milter (subguard): to error state" and "Milter:
dnl #   initialization failed, temp failing commands", and the client's
dnl #   AUTH gets "454 4.3.0 Please try again later". Mail programs
dnl #   keep the mail and retry; nothing goes out unchecked, so a stolen
dnl #   password cannot be used to spray while subguard is down. The cost:
dnl #   nobody can submit until subguard is back (supervise it and alert on
dnl #   "Milter (subguard)" log lines).
dnl #   F=R   would REJECT (5xx) instead: customers' mail would bounce. Never.
dnl #   no F= would let mail through unchecked (no limits, no quarantine)
dnl #         while subguard is down: choose it if availability beats abuse
dnl #         control.
dnl #
dnl # T=C:10s;S:10s;R:10s;E:1m  timeouts: connect, send to the filter, read
dnl #   its reply, and the whole end-of-message exchange. subguard answers in
dnl #   milliseconds and gives up on Redis after its own [redis] timeout
dnl #   (100 ms by default), so these only matter when subguard hangs; keep
dnl #   them short so a hung subguard costs customers seconds, not Sendmail's
dnl #   default 5 minutes (T=C:5m;S:10s;R:10s;E:5m). Like contrib/postfix's
dnl #   milter_connect/command/content_timeout (10s, 10s, 30s).
dnl #
dnl # Macros. subguard needs {auth_authen} (the SASL login) and
dnl #   {client_addr} (it skips the CONNECT step) at MAIL FROM,
dnl #   {rcpt_mailer} at RCPT ("error" marks a recipient Sendmail itself
dnl #   rejected), and the queue id i at end of message. It asks Sendmail for
dnl #   exactly these itself when the connection opens (smfi_setsymlist;
dnl #   checked with 8.17.1.9: the login, rejections and queue id arrive even
dnl #   with all three lists below emptied of them), and Sendmail's default
dnl #   lists already hold them at MAIL FROM and RCPT. The EOM list is
dnl #   extended here only as a safety net for the queue id; if your .mc
dnl #   redefines confMILTER_MACROS_ENVFROM or confMILTER_MACROS_ENVRCPT for
dnl #   other milters, keep i, {auth_type}, {auth_authen} and {rcpt_mailer},
dnl #   {rcpt_host}, {rcpt_addr} in them.
dnl #
divert(-1)
ifdef(`SUBGUARD_SOCKET', `', `define(`SUBGUARD_SOCKET', `local:/run/subguard/subguard.sock')')
ifdef(`SUBGUARD_MSA', `', `define(`SUBGUARD_MSA', `Port=submission, Family=inet')')
divert(0)dnl
dnl --- subguard (contrib/sendmail/subguard.m4) ---
FEATURE(`no_default_msa')dnl
DAEMON_OPTIONS(defn(`SUBGUARD_MSA')`, Name=MSA, M=Ea, InputMailFilters=subguard')dnl
ifdef(`SUBGUARD_SMTPS', `DAEMON_OPTIONS(defn(`SUBGUARD_SMTPS')`, Name=MSA-TLS, M=Eas, InputMailFilters=subguard')')dnl
MAIL_FILTER(`subguard', `S='defn(`SUBGUARD_SOCKET')`, F=T, T=C:10s;S:10s;R:10s;E:1m')dnl
define(`confMILTER_MACROS_EOM', defn(`confMILTER_MACROS_EOM')`, i, {auth_authen}')dnl
dnl --- end of subguard ---
