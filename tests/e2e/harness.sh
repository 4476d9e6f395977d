# shellcheck shell=bash
# tests/e2e/harness.sh - the end-to-end test world for subguard (bash library).
#
# Source it from a test (tests/e2e/t_*.sh) or a script:
#
#   set -euo pipefail
#   . "$(dirname "$0")/harness.sh"
#   sg_world_up                      # redis + sink + private Postfix or Sendmail
#   sg_user alice secret             # SASL login alice@example.net
#   sg_subguard_conf '[tier default]
#   messages = 3/1h'                 # optional: tiers etc.
#   sg_subguard_start                # the milter under test
#   sg_submit --user alice@example.net --password secret --to a@remote.example
#   sg_wait_for sg_queue_empty || sg_fail "queue not empty"
#   # sg_world_down runs by itself on exit (EXIT trap)
#
# The MTA: SG_MTA=postfix (the default) or SG_MTA=sendmail, read by
# sg_world_up. CTest runs each scenario that says so in its header ("# mta:
# postfix sendmail", see tests/CMakeLists.txt) once per MTA, with SG_MTA set.
# The same test script works on both when it uses only the MTA-neutral
# helpers: sg_submit (queue_id filled in for both), sg_queue_empty,
# sg_queue_ids, sg_held_ids, sg_release, sg_flush, sg_bounced_rcpts,
# sg_feed_start/sg_feed_stop, sg_delivered_*, sg_maillog_has (the MTA's log
# lines differ: branch on $SG_MTA for patterns), sg_submission_add (all
# its NAME=VALUEs on Postfix, only smtpd_milters on Sendmail). Postfix
# only: sg_postconf. Sendmail only: sg_sendmail, sg_mailq (the real
# commands, on the world's queue), sg_sendmail_m4.
#
# The harness is this file and the parts it sources (each says what it
# holds in its header); a test sources this file only:
#   lib/world.sh     messages and assertions (sg_log, sg_fail, sg_assert_*,
#                    sg_wait_*), the world's processes, sg_world_up and
#                    sg_world_down, sg_user, the world's Redis (sg_redis*),
#                    the MTA-neutral mail and queue functions
#   lib/subguard.sh  subguard and subguard-feed (sg_subguard_*, sg_feed_*),
#                    their logs, the counters in Redis (sg_counter)
#   lib/postfix.sh   the private Postfix (what it does, sg_postconf)
#   lib/sendmail.sh  the private Sendmail (what it does, sg_sendmail,
#                    sg_mailq, sg_sendmail_m4)
#   ../lib/redis.sh  the one way every script starts a private redis-server
#
# The world, all in one scratch directory $SG_DIR (mktemp -d /tmp/sg.XXXXXX):
#   redis.sock redis.conf redis.log redis.pid
#                                     private redis-server (port 0, no disk)
#   sink.log sink.err                 next-hop SMTP sink (tests/e2e/sink.py)
#   maillog sasldb2 q/                the MTA's log, SASL users, queue
#   subguard.conf subguard.sock subguard.log        the milter under test
#   feed.log                          subguard-feed (sg_feed_start)
#   Postfix:  pf/ (main.cf master.cf sasl/ recipient_access), data/
#   Sendmail: sm/ (sendmail.mc sendmail.cf sasl/Sendmail.conf
#             service.switch aliases sm_shim.so sendmail.pid)
#
# The MTA interface: every MTA-neutral function of lib/world.sh calls the
# function of the same role of the MTA in $SG_MTA, sg__${SG_MTA}_NAME; so
# lib/postfix.sh and lib/sendmail.sh each define sg__MTA_tools (commands it
# needs), _config, _start, _stop, _diag (its queue, for sg_diag), _submit,
# _queue_empty, _queue_ids, _held_ids, _release QID, _flush,
# _bounced_rcpts QID and _submission_add PORT [NAME=VALUE...]. A third MTA
# would be one more such file, sourced below.
#
# Knobs (environment variables read by sg_world_up; set them before it):
#   SG_MTA          postfix (default) or sendmail
#   SG_MILTERS      the milter the submission service uses (unset: the
#                   subguard socket; "": no milter). Postfix's spelling
#                   (unix:/path, inet:host:port); translated for Sendmail
#   SG_MILTER_DEFAULT_ACTION  milter_default_action (default tempfail;
#                   Sendmail: only tempfail, its F=T)
#   SG_PF_MAIN_EXTRA  lines appended to main.cf (later lines win in main.cf)
#   SG_PF_SUBMISSION_OPTS  newline-separated name=value, added as -o options
#                   to the submission service in master.cf (they beat main.cf)
#   SG_SM_MC_EXTRA  lines added to Sendmail's sendmail.mc before MAILER()
#   SG_SM_QUEUE_INTERVAL  Sendmail's queue run interval (-q; default 10s)
#   SG_CONF_SUBGUARD, SG_CONF_REDIS  extra lines for the [subguard] and [redis]
#                   sections of subguard.conf (see sg_subguard_conf)
#   SG_KEEP=1       keep $SG_DIR when the script fails (always: keep it always)
#   SG_WAIT         default timeout of sg_wait_for in seconds (default 20)
#   SG_BUILD, SG_SRC  build and source directories (CTest sets both; defaults:
#                   the checkout this file is in, and its build/)
#
# Variables set by sg_world_up: SG_DIR SG_MTA SG_SUBPORT SG_SINKPORT
# SG_REDIS_SOCK SG_SUBGUARD_SOCK SG_REALM (example.net); Postfix: SG_PF
# (config dir); Sendmail: SG_SM (config dir), SG_SM_PREFIX, SG_SM_CF,
# SG_MTAPORT.
#
# Conventions: functions named sg_* are the interface, sg__* are internal
# (sg_redis_server_* are tests/lib/redis.sh's, for any script).
# Failures go through sg_fail, which exits the script: never call it (or a
# function that may call it) inside $(...) or a pipeline, where exit only
# leaves a subshell. Waiting is always a poll loop with a deadline.
# The harness owns the EXIT, INT and TERM traps of the script that sources it.

if [[ -n ${SG__HARNESS_LOADED:-} ]]; then return 0; fi
SG__HARNESS_LOADED=1

# Where the parts are; the settings every part reads.
SG__HARNESS_DIR=$(dirname "${BASH_SOURCE[0]}")
: "${SG_SRC:=$(cd "$SG__HARNESS_DIR/../.." && pwd)}"
: "${SG_BUILD:=$SG_SRC/build}"
SG_E2E=$SG_SRC/tests/e2e
SG_PY=/usr/bin/python3          # Debian's python: it has aiosmtpd
SG_REALM=example.net
: "${SG_WAIT:=20}"
: "${SG_MTA:=postfix}"
SG_DIR=
SG__DOWN=
SG__DIAG_DONE=
export SG_SRC SG_BUILD SG_MTA

# shellcheck source=tests/lib/redis.sh
. "$SG__HARNESS_DIR/../lib/redis.sh"
# shellcheck source=tests/e2e/lib/world.sh
. "$SG__HARNESS_DIR/lib/world.sh"
# shellcheck source=tests/e2e/lib/subguard.sh
. "$SG__HARNESS_DIR/lib/subguard.sh"
# shellcheck source=tests/e2e/lib/postfix.sh
. "$SG__HARNESS_DIR/lib/postfix.sh"
# shellcheck source=tests/e2e/lib/sendmail.sh
. "$SG__HARNESS_DIR/lib/sendmail.sh"
