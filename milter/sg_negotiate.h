/*
 * NAME
 *	sg_negotiate 3h
 * SUMMARY
 *	the protocol steps and macros subguard asks the MTA for
 * DESCRIPTION
 *	subguard negotiates away every step it does not use (CONNECT, HELO,
 *	DATA, headers, body, unknown commands), asks for recipients the MTA
 *	has already rejected (SMFIP_RCPT_REJ), and takes MAIL without a
 *	reply (SMFIP_NR_MAIL): MAIL marks where a message begins and brings
 *	the login and the client's address, and the MTA does not wait for
 *	it. The message is decided at its first recipient, the first step
 *	whose answer the MTA waits for; the end of the message holds or
 *	refuses it. So an accepted message costs the MTA two waits (first
 *	RCPT, end of message) where it cost four (CONNECT, MAIL, RCPT, end
 *	of message): docs/PERFORMANCE.md has each step's measured price.
 *
 *	Macros are asked for whatever the MTA's defaults are: the login,
 *	the MTA's name and the client's address at MAIL, the rejection
 *	marker at RCPT, the queue id at the end (Sendmail already sends {i}
 *	at MAIL, Postfix only from DATA on). Postfix sends a skipped step's
 *	macros all the same; Sendmail need not, hence {client_addr} at MAIL.
 *
 *	Shared by the daemon and the benchmarks' do-nothing milter, so the
 *	baseline negotiates exactly what subguard does.
 */
#ifndef SG_NEGOTIATE_H
#define SG_NEGOTIATE_H

#include <libmilter/mfapi.h>

/* The steps subguard skips or takes without a reply. */
#define SG_NEGOTIATE_STEPS (SMFIP_NOCONNECT | SMFIP_NOHELO | SMFIP_NOHDRS \
	| SMFIP_NOEOH | SMFIP_NOBODY | SMFIP_NOUNKNOWN | SMFIP_NODATA \
	| SMFIP_NR_MAIL | SMFIP_RCPT_REJ)

/*
 * sg_negotiate_steps - xxfi_negotiate's work for subguard and its
 * baseline. steps: the SMFIP_* flags to ask for (SG_NEGOTIATE_STEPS for
 * subguard; the benchmark's do-nothing milter tries others). With
 * SMFIP_NOMAIL the login and the client's address are asked for at RCPT.
 */
static inline sfsistat sg_negotiate_steps(SMFICTX *ctx, unsigned long f0,
					          unsigned long f1,
					          unsigned long steps,
					          unsigned long *pf0,
					          unsigned long *pf1,
					          unsigned long *pf2,
					          unsigned long *pf3)
{
    *pf0 = f0 & (SMFIF_QUARANTINE | SMFIF_SETSYMLIST);
    *pf1 = f1 & steps;
    *pf2 = 0;
    *pf3 = 0;
    if (*pf0 & SMFIF_SETSYMLIST) {
	if (*pf1 & SMFIP_NOMAIL) {
	    smfi_setsymlist(ctx, SMFIM_ENVRCPT, "{rcpt_mailer} {rcpt_host} i "
			    "{auth_authen} {auth_type} v {client_addr}");
	} else {
	    smfi_setsymlist(ctx, SMFIM_ENVFROM, "{auth_authen} {auth_type} i v "
			    "{client_addr}");
	    smfi_setsymlist(ctx, SMFIM_ENVRCPT, "{rcpt_mailer} {rcpt_host} i");
	}
	smfi_setsymlist(ctx, SMFIM_EOM, "i {auth_authen}");
    }
    return (SMFIS_CONTINUE);
}

#endif
