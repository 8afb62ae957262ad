#!/usr/bin/env python3
"""contactsd's time zones for phone numbers against Python's `phonenumbers`.

Both read libphonenumber's prefix-to-time-zone map; contactsd compiles it
into the binary (crates/domain/data/timezones/). This builds a sample of
valid numbers from every country code (each region's example numbers of
every type with their last digits varied, and numbers under every prefix
the map names), loads them into a real server as contacts, asks
`GET /v1/contacts/{id}/callability` for each one's `timeZones`, and
compares with `phonenumbers.timezone.time_zones_for_number`. Python's
"Etc/Unknown" is contactsd's "Etc/UTC" (CONTRACT.md: a number whose zone is
unknown is judged in UTC).

    python3 tests/zones/compare.py target/release/contactsd

Exits non-zero on any difference, or when contactsd refuses more than 1%
of the numbers `phonenumbers` calls valid. (It refuses some today: the
`phonenumber` crate strips a national prefix from international numbers
that begin with it, such as Russia's +7 800 and +7 8xx, Lithuania's +370 8xx
and Belarus's +375 8xx: 282 of 39,288 in this sample. They are listed.)
"""

import http.client
import json
import os
import random
import socket
import subprocess
import sys
import tempfile

import phonenumbers
from phonenumbers import PhoneNumberType, timezone
from phonenumbers.tzdata import TIMEZONE_DATA

PER_EXAMPLE = 6
PER_PREFIX = 3
EXPECTED_VERSION = "9.0.33"


def valid(text):
    """The E.164 form of `text` when phonenumbers calls it valid."""
    try:
        number = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def sample(rng):
    """E.164 numbers that phonenumbers calls valid, from every country code."""
    numbers = set()
    regions = [(r, phonenumbers.country_code_for_region(r)) for r in sorted(phonenumbers.SUPPORTED_REGIONS)]
    regions += [("001", cc) for cc in sorted(phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS)]
    codes = set()
    for region, cc in regions:
        for kind in range(0, 11):
            if region == "001":
                example = phonenumbers.example_number_for_non_geo_entity(cc)
                if kind:
                    break
            else:
                example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
            numbers.add(e164)
            codes.add(cc)
            for _ in range(PER_EXAMPLE * 4):
                keep = len(e164) - rng.randint(1, min(6, len(e164) - len(str(cc)) - 2))
                text = e164[:keep] + "".join(rng.choice("0123456789") for _ in range(len(e164) - keep))
                e164_text = valid(text)
                if e164_text:
                    numbers.add(e164_text)
    # Every prefix of the map, filled to a plausible length.
    for prefix in sorted(TIMEZONE_DATA):
        if len(prefix) < 2:
            continue
        found = 0
        for _ in range(40):
            length = rng.randint(max(len(prefix) + 2, 9), 13)
            text = "+" + prefix + "".join(rng.choice("0123456789") for _ in range(length - len(prefix)))
            e164_text = valid(text)
            if e164_text and e164_text not in numbers:
                numbers.add(e164_text)
                found += 1
                if found == PER_PREFIX:
                    break
    return sorted(numbers), codes


def expected_zones(e164):
    zones = list(timezone.time_zones_for_number(phonenumbers.parse(e164, None)))
    return ["Etc/UTC" if z == "Etc/Unknown" else z for z in zones]


def main():
    if phonenumbers.__version__ != EXPECTED_VERSION:
        sys.exit(f"phonenumbers {phonenumbers.__version__}: this test pins {EXPECTED_VERSION}, "
                 "the libphonenumber release of contactsd's map")
    binary = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "target/release/contactsd")
    rng = random.Random(20261205)
    numbers, codes = sample(rng)
    print(f"sample: {len(numbers)} numbers valid for phonenumbers {phonenumbers.__version__}, "
          f"{len(codes)} country codes")

    workdir = tempfile.mkdtemp()
    db = os.path.join(workdir, "zones.db")
    run = lambda *words: json.loads(subprocess.run(
        [binary, "--database", db, *words], capture_output=True, check=True).stdout)
    key = run("org", "create", "zones")["apiKey"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, ROCKET_PORT=str(port), ROCKET_ADDRESS="127.0.0.1",
               ROCKET_LOG_LEVEL="critical")
    server = subprocess.Popen([binary, "--database", db, "serve"], env=env, cwd=workdir,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        for line in server.stdout:
            if "listening on" in line:
                break
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

        def call(method, path, body=None):
            conn.request(method, path, body=json.dumps(body) if body is not None else None,
                         headers={"x-api-key": key, "content-type": "application/json"})
            response = conn.getresponse()
            return response.status, json.loads(response.read())

        ids = {}
        for start in range(0, len(numbers), 1000):
            chunk = numbers[start:start + 1000]
            status, answer = call("POST", "/v1/contacts/bulk", {
                "contacts": [{"name": f"N {start + i}", "phoneNumber": n} for i, n in enumerate(chunk)]})
            assert status == 200, answer
            for contact in answer["contacts"]:
                ids[contact["phoneNumber"]] = contact["id"]
        refused = [n for n in numbers if n not in ids]
        differ = []
        for e164, contact_id in ids.items():
            status, answer = call("GET", f"/v1/contacts/{contact_id}/callability")
            assert status == 200, answer
            want = expected_zones(e164)
            if answer["timeZones"] != want:
                differ.append((e164, answer["timeZones"], want))
    finally:
        server.terminate()
        server.wait(timeout=30)

    print(f"compared: {len(ids)} numbers; same zones: {len(ids) - len(differ)}; "
          f"different: {len(differ)}; refused by contactsd: {len(refused)}")
    for e164, got, want in differ[:20]:
        print(f"  {e164}: contactsd {got}, phonenumbers {want}")
    for e164 in refused[:20]:
        print(f"  refused: {e164}")
    if differ or len(refused) > len(numbers) * 0.01:
        sys.exit(1)
    print("zones: ok")


if __name__ == "__main__":
    main()
