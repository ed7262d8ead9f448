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
from collections.abc import Callable
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.policy import compat32

import authres
import dkim

log = logging.getLogger(__name__)

# Two-label public suffixes under which unrelated people register domains. Not the
# whole Public Suffix List: alignment here is "equal, or one is a subdomain of the
# other", which already keeps a.co.uk and b.co.uk apart; this list only stops a parent
# like co.uk itself from counting as an organisation.
_TWO_LABEL_SUFFIXES = frozenset(
    "co.uk org.uk ac.uk gov.uk me.uk ltd.uk plc.uk net.uk sch.uk nhs.uk "
    "com.au net.au org.au edu.au gov.au co.nz org.nz net.nz co.jp ne.jp or.jp ac.jp "
    "co.za org.za com.br net.br com.cn net.cn org.cn com.mx co.in net.in org.in "
    "co.kr or.kr com.tr com.sg com.hk co.il com.ar com.tw co.id com.my com.ph "
    "gv.at co.at or.at com.pl com.ua".split())

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
    for evidence in _our_passes(raw, policy):
        if evidence.method not in policy.accept:
            continue
        if aligned(evidence.domain, from_domain):
            return AuthVerdict(True, evidence.method,
                               f"our mail server checked {evidence.method.upper()} "
                               f"and it passed for {evidence.domain}")
        named = evidence.domain or "an unnamed domain"
        notes.append(f"{evidence.method.upper()} passed for {named}, which is not {from_domain}")
    if policy.verify_dkim_locally:
        verdict = _local_dkim(raw, from_domain, policy.dns_resolver, notes)
        if verdict:
            return verdict
    return AuthVerdict(False, "", _refusal(from_domain, notes))


def _refusal(from_domain: str, notes: list[str]) -> str:
    reason = f"no DKIM signature or SPF pass from our server for {from_domain}"
    return "; ".join([reason, *notes])


# -- Authentication-Results ---------------------------------------------------------------


def _our_passes(raw: bytes, policy: AuthPolicy) -> list[_Evidence]:
    passes = []
    for header in trusted_headers(_header_values(raw, "Authentication-Results"),
                                  policy.authserv_ids):
        passes.extend(_evidence(result) for result in header.results
                      if str(result.result).lower() == "pass")
    return passes


def _header_values(raw: bytes, name: str) -> list[str]:
    """Values of every `name` header, top first, unfolded."""
    headers = BytesHeaderParser(policy=compat32).parsebytes(raw)
    return [" ".join(str(value).split()) for value in headers.get_all(name, [])]


def trusted_headers(values: list[str], authserv_ids: tuple[str, ...]) -> list:
    """The parsed headers of the topmost contiguous block carrying one of our ids.

    Walking from the top, the block ends at the first header from another server:
    anything below it was present before our server saw the mail. Headers that
    `authres` cannot parse (Microsoft 365 writes none with an authserv-id) are skipped:
    they can neither vouch for a mail nor hide anything.
    """
    ours = {server_id.lower() for server_id in authserv_ids}
    block = []
    for value in values:
        header = _parse(value)
        if header is None:
            continue
        if str(header.authserv_id).lower() not in ours:
            break
        block.append(header)
    return block


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


def _local_dkim(raw: bytes, from_domain: str, resolver: DnsResolver | None,
                notes: list[str]) -> AuthVerdict | None:
    """Verify every DKIM signature: dkim.verify() alone would only try the topmost one."""
    try:
        checker = dkim.DKIM(raw)
    except dkim.DKIMException as exc:
        notes.append(f"the message could not be read for a DKIM check ({exc})")
        return None
    extra = {"dnsfunc": resolver} if resolver else {}
    for idx in range(_signature_count(checker)):
        domain = _verified_domain(checker, idx, extra)
        if domain and aligned(domain, from_domain):
            return AuthVerdict(True, "dkim-local",
                               f"the DKIM signature of {domain} checked out")
        if domain:
            notes.append(f"a valid DKIM signature is from {domain}, which is not {from_domain}")
    return None


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
    return "." not in domain or domain in _TWO_LABEL_SUFFIXES
