"""python-cryptography as an independent parser of what attestamp issues (test/interop).

Reads one JSON request on standard input: {"certificates": [{"name", "der"}], "pkcs7":
[{"name", "der"}]} with DER in base64 (pkcs7 entries are time-stamp tokens, CMS ContentInfo).
Loads each certificate with x509.load_der_x509_certificate and the certificates of each token
with pkcs7.load_der_pkcs7_certificates, and prints one JSON report: subject, serial, signature
algorithm and extension OIDs of each, or the error cryptography raised.
"""

import base64
import json
import sys

import cryptography
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs7


def describe(name, cert):
    return {
        "name": name,
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "serial": format(cert.serial_number, "x"),
        "signatureAlgorithm": cert.signature_algorithm_oid.dotted_string,
        "extensions": [
            {"oid": e.oid.dotted_string, "critical": e.critical} for e in cert.extensions
        ],
    }


def main():
    request = json.load(sys.stdin)
    report = {"cryptography": cryptography.__version__, "certificates": [], "pkcs7": []}
    for item in request.get("certificates", []):
        try:
            cert = x509.load_der_x509_certificate(base64.b64decode(item["der"]))
            report["certificates"].append(describe(item["name"], cert))
        except Exception as exc:  # reported, not raised: the test asserts on it
            report["certificates"].append({"name": item["name"], "error": repr(exc)})
    for item in request.get("pkcs7", []):
        try:
            certs = pkcs7.load_der_pkcs7_certificates(base64.b64decode(item["der"]))
            report["pkcs7"].append(
                {
                    "name": item["name"],
                    "certificates": [
                        describe("%s certificate %d" % (item["name"], i), c)
                        for i, c in enumerate(certs)
                    ],
                }
            )
        except Exception as exc:
            report["pkcs7"].append({"name": item["name"], "error": repr(exc)})
    json.dump(report, sys.stdout, indent=1)


if __name__ == "__main__":
    main()
