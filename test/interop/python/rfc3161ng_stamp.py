"""rfc3161ng as a real RFC 3161 client of the attestamp TSA (test/interop).

Usage: rfc3161ng_stamp.py URL TSA_CERT_PEM [--check]

Asks the TSA at URL for a token over a fixed document with SHA-256, a nonce and certReq, and
prints one JSON report. With --check, RemoteTimestamper is given the TSA certificate so that it
verifies the answer itself (check_timestamp: message imprint, nonce, messageDigest attribute and
the signature over the signed attributes), and check_timestamp is run once more on the returned
token against the same data and against other data. Without --check the token is only fetched
and decoded (get_timestamp, the TSTInfo fields), then check_timestamp is tried and its failure
reported: rfc3161ng 2.1 verifies only RSA PKCS#1 v1.5 signatures (it always passes
padding.PKCS1v15() to public_key.verify), so it cannot verify an ECDSA token at all.
"""

import json
import sys

import rfc3161ng
from pyasn1.codec.der import decoder

DATA = b"the document rfc3161ng time-stamps\n"
NONCE = 0x5EED0123456789AB


def main():
    url, cert_path = sys.argv[1], sys.argv[2]
    check = "--check" in sys.argv[3:]
    with open(cert_path, "rb") as f:
        certificate = f.read()
    stamper = rfc3161ng.RemoteTimestamper(
        url,
        certificate=certificate if check else None,
        hashname="sha256",
        include_tsa_certificate=True,
    )
    report = {"rfc3161ng": getattr(rfc3161ng, "__version__", "unknown")}
    # With a certificate, timestamp() raises unless check_timestamp accepts the answer.
    token = stamper.timestamp(data=DATA, nonce=NONCE)
    report["fetched"] = True
    report["genTime"] = rfc3161ng.get_timestamp(token, naive=False).isoformat()
    tst, rest = decoder.decode(token, asn1Spec=rfc3161ng.TimeStampToken())
    info = tst.tst_info
    report["trailing"] = len(rest)
    report["policy"] = str(info["policy"])
    report["serial"] = format(int(info["serialNumber"]), "x")
    report["nonce"] = format(int(info["nonce"]), "x")
    report["hashAlgorithm"] = str(info["messageImprint"]["hashAlgorithm"]["algorithm"])
    report["certificates"] = len(tst.content["certificates"])
    try:
        report["checkSameData"] = rfc3161ng.check_timestamp(
            token, certificate=certificate, data=DATA, hashname="sha256", nonce=NONCE
        )
    except Exception as exc:  # reported, not raised: the test asserts on it
        report["checkSameData"] = False
        report["checkError"] = repr(exc)
    try:
        rfc3161ng.check_timestamp(token, certificate=certificate, data=b"other", hashname="sha256")
        report["checkOtherData"] = True
    except Exception as exc:
        report["checkOtherData"] = False
        report["checkOtherError"] = repr(exc)
    json.dump(report, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
