/*
 * NAME
 *	sg_negotiate 3h
 * SUMMARY
 *	the protocol steps and macros subguard asks the MTA for
 * DESCRIPTION
 *	subguard negotiates away every step it does not use (HELO, DATA,
 *	headers, body, unknown commands) and asks for recipients the MTA
 *	has already rejected (SMFIP_RCPT_REJ). It asks for the macros it
 *	needs whatever the MTA's defaults are: the login and the MTA's name
 *	at MAIL, the rejection marker at RCPT, the queue id at the end
 *	(Sendmail already sends {i} at MAIL, Postfix only from DATA on).
 *
 *	Shared by the daemon and the benchmarks' do-nothing milter, so the
 *	baseline negotiates exactly what subguard does.
 */
#ifndef SG_NEGOTIATE_H
#define SG_NEGOTIATE_H

#include <libmilter/mfapi.h>

/*
 * sg_negotiate_steps - xxfi_negotiate's work for subguard and its
 * baseline. extra: further SMFIP_* step flags to ask for (0 for
 * subguard; the benchmark's do-nothing milter tries others). With
 * SMFIP_NOMAIL the login is asked for at RCPT, with SMFIP_NOCONNECT the
 * client's address too ({client_addr}), as the skipped step's macros
 * are not sent.
 */
static inline sfsistat sg_negotiate_steps(SMFICTX *ctx, unsigned long f0,
					          unsigned long f1,
					          unsigned long extra,
					          unsigned long *pf0,
					          unsigned long *pf1,
					          unsigned long *pf2,
					          unsigned long *pf3)
{
    unsigned long skip = SMFIP_NOHELO | SMFIP_NOHDRS | SMFIP_NOEOH
    | SMFIP_NOBODY | SMFIP_NOUNKNOWN | SMFIP_NODATA;

    *pf0 = f0 & (SMFIF_QUARANTINE | SMFIF_SETSYMLIST);
    *pf1 = f1 & (skip | SMFIP_RCPT_REJ | extra);
    *pf2 = 0;
    *pf3 = 0;
    if (*pf0 & SMFIF_SETSYMLIST) {
	const char *from = "{auth_authen} {auth_type} i v";
	const char *rcpt = "{rcpt_mailer} {rcpt_host} i";

	if ((*pf1 & SMFIP_NOMAIL) && (*pf1 & SMFIP_NOCONNECT))
	    rcpt = "{rcpt_mailer} {rcpt_host} i {auth_authen} {auth_type} v "
		"{client_addr}";
	else if (*pf1 & SMFIP_NOMAIL)
	    rcpt = "{rcpt_mailer} {rcpt_host} i {auth_authen} {auth_type} v";
	else if (*pf1 & SMFIP_NOCONNECT)
	    from = "{auth_authen} {auth_type} i v {client_addr}";
	if (!(*pf1 & SMFIP_NOMAIL))
	    smfi_setsymlist(ctx, SMFIM_ENVFROM, (char *) from);
	smfi_setsymlist(ctx, SMFIM_ENVRCPT, (char *) rcpt);
	smfi_setsymlist(ctx, SMFIM_EOM, "i {auth_authen}");
    }
    return (SMFIS_CONTINUE);
}

#endif
