"""Authentication of staff command mail: did this mail really come from the From domain?

Commands by mail are dangerous if anyone can forge the sender, so `authenticate` accepts
a mail only on evidence the sender cannot fake:

1. An `Authentication-Results` header written by our own receiving server (its
   authserv-id is listed in the policy) that says dkim=pass for a signing domain aligned
   with the From domain, spf=pass for an aligned envelope sender, or (if configured)
   dmarc=pass. Only the topmost block of such headers counts: our server adds its
   headers on top, everything below came with the mail and may be forged.
2. Failing that, our own DKIM check of every signature in the mail (d= aligned).

Our receiving server must also strip incoming headers that claim its authserv-id
(RFC 8601 section 5; OpenDKIM, OpenDMARC, rspamd and Postfix setups do): a forged header
directly below ours, with none in between, looks like part of our block.

Who may run which command (is this address staff?) is decided by the caller; this module
only answers "is the From domain genuine". The caller passes the bare From address.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.policy import compat32

import authres
import dkim
import dkim.dnsplug
from publicsuffixlist import PublicSuffixList

log = logging.getLogger(__name__)

# The Public Suffix List as the package ships it: a parent like co.uk or github.io is where
# unrelated people register domains, never an organisation of its own. Alignment here is
# "equal, or one is a subdomain of the other", which already keeps a.co.uk and b.co.uk apart.
_SUFFIXES = PublicSuffixList()

DnsResolver = Callable[..., bytes | None]  # dkimpy's dnsfunc: (name: bytes, timeout=) -> TXT


@dataclass(frozen=True)
class AuthPolicy:
    """Which evidence counts. `authserv_ids`: our receiving server's own names."""

    authserv_ids: tuple[str, ...]
    accept: tuple[str, ...] = ("dkim", "spf")  # add "dmarc" to trust dmarc=pass too
    # Our own DKIM check is a separate switch from `accept`, which only filters what
    # our server wrote: it also serves where the server writes no usable header (M365).
    verify_dkim_locally: bool = True
    dns_resolver: DnsResolver | None = None  # None: real DNS through dkimpy
    # Names our own servers write after "by" in Received lines (empty: the authserv-ids).
    receiving_hosts: tuple[str, ...] = ()
    # Our own DKIM check reads at most this many signatures, with one DNS time budget for
    # them all: a mail with hundreds of signatures must not hold the desk for minutes.
    dkim_max_signatures: int = 3
    dkim_dns_budget_seconds: float = 10.0


@dataclass(frozen=True)
class AuthVerdict:
    ok: bool
    method: str  # "dkim", "spf", "dmarc" (from our server), "dkim-local", or "" if refused
    reason: str  # plain words for the results mail to staff


@dataclass(frozen=True)
class _Evidence:
    """One pass result from our server, reduced to what alignment needs."""

    method: str
    domain: str


def authenticate(raw: bytes, from_addr: str, policy: AuthPolicy) -> AuthVerdict:
    """Decide whether `raw` provably comes from the domain of the bare `from_addr`."""
    from_domain = _domain(from_addr) if "@" in from_addr else ""
    if not from_domain:
        return AuthVerdict(False, "", f"the sender address {from_addr!r} has no domain")
    notes: list[str] = []
    passes, fails = _our_results(raw, policy)
    if fails:
        # Our server saw the mail fail: nothing found later (a pass below, our own DKIM
        # check of a signature the server rejected) outweighs that.
        return AuthVerdict(
            False, "", f"our mail server reported {', '.join(sorted(set(fails))).upper()} as failed for this mail"
        )
    for evidence in passes:
        if evidence.method not in policy.accept:
            continue
        if aligned(evidence.domain, from_domain):
            return AuthVerdict(
                True,
                evidence.method,
                f"our mail server checked {evidence.method.upper()} and it passed for {evidence.domain}",
            )
        named = evidence.domain or "an unnamed domain"
        notes.append(f"{evidence.method.upper()} passed for {named}, which is not {from_domain}")
    if policy.verify_dkim_locally:
        verdict = _local_dkim(raw, from_domain, policy, notes)
        if verdict:
            return verdict
    return AuthVerdict(False, "", _refusal(from_domain, notes))


def _refusal(from_domain: str, notes: list[str]) -> str:
    reason = f"no DKIM signature or SPF pass from our server for {from_domain}"
    return "; ".join([reason, *notes])


# -- Authentication-Results ---------------------------------------------------------------


def _our_results(raw: bytes, policy: AuthPolicy) -> tuple[list[_Evidence], list[str]]:
    """(the passes our server reported, the accepted methods it reported as failed)."""
    passes, fails = [], []
    for header in trusted_headers(
        _header_items(raw), policy.authserv_ids, policy.receiving_hosts or policy.authserv_ids
    ):
        for result in header.results:
            outcome, method = str(result.result).lower(), str(result.method).lower()
            if outcome == "pass":
                passes.append(_evidence(result))
            elif outcome == "fail" and method in policy.accept:
                fails.append(method)
    return passes, fails


def _header_items(raw: bytes) -> list[tuple[str, str]]:
    """(lower-cased name, unfolded value) of every header, top first."""
    headers = BytesHeaderParser(policy=compat32).parsebytes(raw)
    return [(str(name).lower(), " ".join(str(value).split())) for name, value in headers.items()]


def trusted_headers(
    items: list[tuple[str, str]], authserv_ids: tuple[str, ...], receiving_hosts: tuple[str, ...] = ()
) -> list:
    """The parsed Authentication-Results our own server wrote: the topmost block only.

    Walking down from the top, the block ends at
    - an Authentication-Results header of another server (it was there before ours), and
    - the first Received header that is not a hop between our own hosts: it records the
      mail entering from outside, and everything below it came with the mail, forgeries
      with our authserv-id included (RFC 8601 section 5).
    Headers that `authres` cannot parse (Microsoft 365 writes none with an authserv-id)
    are skipped: they can neither vouch for a mail nor hide anything.
    """
    ours = {server_id.lower() for server_id in authserv_ids}
    hosts = {host.lower() for host in receiving_hosts or authserv_ids}
    block = []
    for name, value in items:
        if name == "received":
            if not _internal_hop(value, hosts):
                break
            continue
        if name != "authentication-results" or (header := _parse(value)) is None:
            continue
        if str(header.authserv_id).lower() not in ours:
            break
        block.append(header)
    return block


_RECEIVED_HOSTS = re.compile(r"\bfrom\s+(\S+)(?:\s+\(([^)]*)\))?.*?\bby\s+(\S+)", re.IGNORECASE)
_LOOPBACK = ("localhost", "127.0.0.1", "[127.0.0.1]", "::1", "[ipv6:::1]")


def _internal_hop(value: str, ours: set[str]) -> bool:
    """'from mx.ours by imap.ours', or a content filter's 'from localhost by mx.ours'."""
    match = _RECEIVED_HOSTS.search(value)
    if match is None:
        # 'by host' alone: a local delivery (LDA, fetchmail) on our side adds no new sender.
        by_only = re.search(r"\bby\s+(\S+)", value, re.IGNORECASE)
        return bool(by_only) and "from " not in value.lower() and _host(by_only.group(1)) in ours
    sender, detail, receiver = _host(match.group(1)), (match.group(2) or "").lower(), _host(match.group(3))
    if receiver not in ours:
        return False
    return sender in ours or sender in _LOOPBACK or any(loop in detail.split() for loop in _LOOPBACK)


def _host(name: str) -> str:
    return name.strip("();").lower().rstrip(".")


def _parse(value: str):
    try:
        return authres.AuthenticationResultsHeader.parse_value(value)
    except Exception as exc:  # a third-party parser on hostile input: any failure = ignore
        log.debug("ignoring an Authentication-Results header authres cannot parse: %s", exc)
        return None


def _evidence(result) -> _Evidence:
    """The domain a pass speaks for: header.d (or header.i) for DKIM, smtp.mailfrom for SPF."""
    props = {f"{p.type}.{p.name}".lower(): str(p.value) for p in result.properties}
    method = str(result.method).lower()
    if method == "dkim":
        domain = props.get("header.d") or _domain(props.get("header.i", ""))
    elif method == "spf":
        domain = _domain(props.get("smtp.mailfrom", ""))
    else:
        domain = props.get("header.from", "")
    return _Evidence(method, domain.lower().rstrip("."))


# -- local DKIM ---------------------------------------------------------------------------


def _local_dkim(raw: bytes, from_domain: str, policy: AuthPolicy, notes: list[str]) -> AuthVerdict | None:
    """Verify the signatures (not only the topmost one, as dkim.verify() would), within bounds."""
    try:
        checker = dkim.DKIM(raw)
    except dkim.DKIMException as exc:
        notes.append(f"the message could not be read for a DKIM check ({exc})")
        return None
    extra = {"dnsfunc": _budgeted(policy.dns_resolver or dkim.dnsplug.get_txt, policy.dkim_dns_budget_seconds)}
    count = _signature_count(checker)
    if count > policy.dkim_max_signatures:
        notes.append(f"only the first {policy.dkim_max_signatures} of {count} DKIM signatures were checked")
    for idx in range(min(count, policy.dkim_max_signatures)):
        domain = _verified_domain(checker, idx, extra)
        if domain and aligned(domain, from_domain):
            return AuthVerdict(True, "dkim-local", f"the DKIM signature of {domain} checked out")
        if domain:
            notes.append(f"a valid DKIM signature is from {domain}, which is not {from_domain}")
    return None


def _budgeted(resolver: DnsResolver, seconds: float) -> DnsResolver:
    """`resolver` sharing one deadline across all its lookups; past it, every key is missing."""
    deadline = time.monotonic() + seconds

    def lookup(name: bytes, timeout: float = 5) -> bytes | None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        return resolver(name, timeout=min(timeout, remaining))

    return lookup


def _signature_count(checker: dkim.DKIM) -> int:
    return sum(1 for name, _ in checker.headers if name.lower() == b"dkim-signature")


def _verified_domain(checker: dkim.DKIM, idx: int, extra: dict) -> str | None:
    """d= of signature `idx` if it verifies and vouches for From, else None."""
    try:
        if checker.verify(idx=idx, **extra) and _covers_from(checker.signature_fields):
            return checker.domain.decode("ascii", "replace").lower().rstrip(".")
    except dkim.DKIMException as exc:
        log.debug("DKIM signature %d unusable: %s", idx, exc)
    return None


def _covers_from(fields: dict[bytes, bytes]) -> bool:
    """The signature must sign From, and all of the body.

    dkimpy verifies a signature whose h= leaves From out, and one with l= (a body
    length) after which anyone may append text: neither says who wrote the command.
    """
    signed = {name.strip().lower() for name in fields.get(b"h", b"").split(b":")}
    return b"from" in signed and b"l" not in fields


# -- domains ------------------------------------------------------------------------------


def _domain(address: str) -> str:
    """Domain of a bare address, or of "@domain"; a bare domain is returned as it is."""
    return address.rpartition("@")[2].strip().strip(">").lower().rstrip(".")


def aligned(domain: str, from_domain: str) -> bool:
    """Relaxed alignment: equal, or one a subdomain of the other below a public suffix.

    mail.staff.example and staff.example align; a.co.uk and b.co.uk do not (a bare
    "last two labels match" rule would let them); co.uk never counts as an organisation.
    """
    domain, from_domain = domain.lower().rstrip("."), from_domain.lower().rstrip(".")
    if not domain or not from_domain:
        return False
    if domain == from_domain:
        return True
    parent, child = sorted((domain, from_domain), key=len)
    return child.endswith("." + parent) and not _is_public_suffix(parent)


def _is_public_suffix(domain: str) -> bool:
    return "." not in domain or bool(_SUFFIXES.is_public(domain))
