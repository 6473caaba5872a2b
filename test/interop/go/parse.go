// Go's standard library as an independent parser of what attestamp issues (test/interop):
// crypto/x509 parses every certificate and verifies each chain with x509.Verify, encoding/asn1
// unwraps each time-stamp token (TimeStampResp, ContentInfo, SignedData, encapContentInfo) and
// decodes its TSTInfo and signed attributes (RFC 3161 2.4.2, RFC 5652 5), and any other DER is
// walked with every OBJECT IDENTIFIER unmarshalled by encoding/asn1. Reads one JSON request on
// standard input and prints one JSON report; a value Go refuses is reported as an error string.
// Standard library only, no modules.
package main

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"runtime"
	"time"
)

type namedDER struct {
	Name string `json:"name"`
	DER  []byte `json:"der"`
}

type chainRequest struct {
	Name          string   `json:"name"`
	Leaf          []byte   `json:"leaf"`
	Intermediates [][]byte `json:"intermediates"`
	// "timeStamping" or "any"
	Usage string `json:"usage"`
}

type request struct {
	Roots        [][]byte       `json:"roots"`
	At           time.Time      `json:"at"`
	Certificates []namedDER     `json:"certificates"`
	Chains       []chainRequest `json:"chains"`
	Tokens       []namedDER     `json:"tokens"`
	DER          []namedDER     `json:"der"`
}

type extensionReport struct {
	OID      string `json:"oid"`
	Critical bool   `json:"critical"`
}

type certificateReport struct {
	Name               string            `json:"name"`
	Error              string            `json:"error,omitempty"`
	Subject            string            `json:"subject,omitempty"`
	Issuer             string            `json:"issuer,omitempty"`
	Serial             string            `json:"serial,omitempty"`
	IsCA               bool              `json:"isCA"`
	MaxPathLen         int               `json:"maxPathLen"`
	SignatureAlgorithm string            `json:"signatureAlgorithm,omitempty"`
	PublicKeyAlgorithm string            `json:"publicKeyAlgorithm,omitempty"`
	Extensions         []extensionReport `json:"extensions,omitempty"`
	UnhandledCritical  []string          `json:"unhandledCritical"`
	ExtKeyUsage        []int             `json:"extKeyUsage"`
	UnknownExtKeyUsage []string          `json:"unknownExtKeyUsage"`
}

type chainReport struct {
	Name  string     `json:"name"`
	Error string     `json:"error,omitempty"`
	Paths [][]string `json:"paths,omitempty"`
}

type tokenReport struct {
	Name              string              `json:"name"`
	Error             string              `json:"error,omitempty"`
	Status            int                 `json:"status"`
	ContentType       string              `json:"contentType,omitempty"`
	EContentType      string              `json:"eContentType,omitempty"`
	Version           int                 `json:"version"`
	Policy            string              `json:"policy,omitempty"`
	HashAlgorithm     string              `json:"hashAlgorithm,omitempty"`
	HashedMessage     string              `json:"hashedMessage,omitempty"`
	Serial            string              `json:"serial,omitempty"`
	GenTime           string              `json:"genTime,omitempty"`
	GenTimeText       string              `json:"genTimeText,omitempty"`
	GenTimeAsTime     string              `json:"genTimeAsTime,omitempty"`
	Nonce             string              `json:"nonce,omitempty"`
	TSAName           bool                `json:"tsaName"`
	TSTExtensions     []extensionReport   `json:"tstExtensions"`
	SignedAttributes  []string            `json:"signedAttributes"`
	DigestAlgorithm   string              `json:"digestAlgorithm,omitempty"`
	SignatureAlg      string              `json:"signatureAlgorithm,omitempty"`
	Certificates      []certificateReport `json:"certificates"`
	TimeStampingChain *chainReport        `json:"timeStampingChain,omitempty"`
}

type derReport struct {
	Name  string   `json:"name"`
	Error string   `json:"error,omitempty"`
	OIDs  []string `json:"oids"`
}

type report struct {
	Go           string              `json:"go"`
	Certificates []certificateReport `json:"certificates"`
	Chains       []chainReport       `json:"chains"`
	Tokens       []tokenReport       `json:"tokens"`
	DER          []derReport         `json:"der"`
}

// RFC 3161 2.4.2 and RFC 5652 5, only as far as this program reads them.
type pkiStatusInfo struct {
	Status       int
	StatusString []string       `asn1:"optional,utf8"`
	FailInfo     asn1.BitString `asn1:"optional"`
}

type timeStampResp struct {
	Status         pkiStatusInfo
	TimeStampToken asn1.RawValue `asn1:"optional"`
}

type contentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"explicit,tag:0"`
}

type encapContentInfo struct {
	EContentType asn1.ObjectIdentifier
	EContent     []byte `asn1:"explicit,optional,tag:0"`
}

type attribute struct {
	Type   asn1.ObjectIdentifier
	Values []asn1.RawValue `asn1:"set"`
}

type signerInfo struct {
	Version            int
	SID                asn1.RawValue
	DigestAlgorithm    pkix.AlgorithmIdentifier
	SignedAttrs        []attribute `asn1:"optional,tag:0,set"`
	SignatureAlgorithm pkix.AlgorithmIdentifier
	Signature          []byte
	UnsignedAttrs      asn1.RawValue `asn1:"optional,tag:1"`
}

type signedData struct {
	Version          int
	DigestAlgorithms []pkix.AlgorithmIdentifier `asn1:"set"`
	EncapContentInfo encapContentInfo
	Certificates     asn1.RawValue `asn1:"optional,tag:0"`
	CRLs             asn1.RawValue `asn1:"optional,tag:1"`
	SignerInfos      []signerInfo  `asn1:"set"`
}

type messageImprint struct {
	HashAlgorithm pkix.AlgorithmIdentifier
	HashedMessage []byte
}

type accuracy struct {
	Seconds int `asn1:"optional"`
	Millis  int `asn1:"optional,tag:0"`
	Micros  int `asn1:"optional,tag:1"`
}

type tstInfo struct {
	Version        int
	Policy         asn1.ObjectIdentifier
	MessageImprint messageImprint
	SerialNumber   *big.Int
	GenTime        asn1.RawValue
	Accuracy       accuracy         `asn1:"optional"`
	Ordering       bool             `asn1:"optional,default:false"`
	Nonce          *big.Int         `asn1:"optional"`
	TSA            asn1.RawValue    `asn1:"optional,explicit,tag:0"`
	Extensions     []pkix.Extension `asn1:"optional,tag:1"`
}

// unmarshalAll decodes DER into v and refuses trailing bytes.
func unmarshalAll(der []byte, v interface{}) error {
	rest, err := asn1.Unmarshal(der, v)
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return fmt.Errorf("%d trailing bytes", len(rest))
	}
	return nil
}

func describeCertificate(name string, der []byte) (certificateReport, *x509.Certificate) {
	r := certificateReport{Name: name, UnhandledCritical: []string{}, ExtKeyUsage: []int{}, UnknownExtKeyUsage: []string{}}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		r.Error = err.Error()
		return r, nil
	}
	r.Subject = c.Subject.String()
	r.Issuer = c.Issuer.String()
	r.Serial = c.SerialNumber.Text(16)
	r.IsCA = c.IsCA
	r.MaxPathLen = c.MaxPathLen
	r.SignatureAlgorithm = c.SignatureAlgorithm.String()
	r.PublicKeyAlgorithm = c.PublicKeyAlgorithm.String()
	for _, e := range c.Extensions {
		r.Extensions = append(r.Extensions, extensionReport{OID: e.Id.String(), Critical: e.Critical})
	}
	for _, o := range c.UnhandledCriticalExtensions {
		r.UnhandledCritical = append(r.UnhandledCritical, o.String())
	}
	for _, u := range c.ExtKeyUsage {
		r.ExtKeyUsage = append(r.ExtKeyUsage, int(u))
	}
	for _, o := range c.UnknownExtKeyUsage {
		r.UnknownExtKeyUsage = append(r.UnknownExtKeyUsage, o.String())
	}
	return r, c
}

func verifyChain(name string, leaf *x509.Certificate, intermediates []*x509.Certificate, roots *x509.CertPool, at time.Time, usage string) chainReport {
	r := chainReport{Name: name}
	pool := x509.NewCertPool()
	for _, c := range intermediates {
		pool.AddCert(c)
	}
	usages := []x509.ExtKeyUsage{x509.ExtKeyUsageAny}
	if usage == "timeStamping" {
		usages = []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping}
	}
	chains, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: pool, CurrentTime: at, KeyUsages: usages})
	if err != nil {
		r.Error = err.Error()
		return r
	}
	for _, chain := range chains {
		var path []string
		for _, c := range chain {
			path = append(path, c.Subject.String())
		}
		r.Paths = append(r.Paths, path)
	}
	return r
}

func describeToken(name string, der []byte, roots *x509.CertPool, at time.Time) tokenReport {
	r := tokenReport{Name: name, TSTExtensions: []extensionReport{}, SignedAttributes: []string{}, Certificates: []certificateReport{}}
	var resp timeStampResp
	if err := unmarshalAll(der, &resp); err != nil {
		r.Error = "TimeStampResp: " + err.Error()
		return r
	}
	r.Status = resp.Status.Status
	var ci contentInfo
	if err := unmarshalAll(resp.TimeStampToken.FullBytes, &ci); err != nil {
		r.Error = "ContentInfo: " + err.Error()
		return r
	}
	r.ContentType = ci.ContentType.String()
	var sd signedData
	if err := unmarshalAll(ci.Content.Bytes, &sd); err != nil {
		r.Error = "SignedData: " + err.Error()
		return r
	}
	r.EContentType = sd.EncapContentInfo.EContentType.String()
	var tst tstInfo
	if err := unmarshalAll(sd.EncapContentInfo.EContent, &tst); err != nil {
		r.Error = "TSTInfo: " + err.Error()
		return r
	}
	r.Version = tst.Version
	r.Policy = tst.Policy.String()
	r.HashAlgorithm = tst.MessageImprint.HashAlgorithm.Algorithm.String()
	r.HashedMessage = hex.EncodeToString(tst.MessageImprint.HashedMessage)
	r.Serial = tst.SerialNumber.Text(16)
	// encoding/asn1 turns a GeneralizedTime into a time.Time only without fractional seconds
	// (its layout has none, and it refuses text that does not format back identically), so the
	// genTime is read raw, parsed with a layout that has them, and the refusal is reported.
	if tst.GenTime.Class != asn1.ClassUniversal || tst.GenTime.Tag != asn1.TagGeneralizedTime {
		r.Error = "TSTInfo: genTime is not a GeneralizedTime"
		return r
	}
	r.GenTimeText = string(tst.GenTime.Bytes)
	genTime, err := time.Parse("20060102150405.999999999Z", r.GenTimeText)
	if err != nil {
		r.Error = "TSTInfo: genTime: " + err.Error()
		return r
	}
	r.GenTime = genTime.UTC().Format(time.RFC3339Nano)
	var asTime time.Time
	if _, err := asn1.UnmarshalWithParams(tst.GenTime.FullBytes, &asTime, "generalized"); err != nil {
		r.GenTimeAsTime = "error: " + err.Error()
	} else {
		r.GenTimeAsTime = asTime.UTC().Format(time.RFC3339Nano)
	}
	if tst.Nonce != nil {
		r.Nonce = tst.Nonce.Text(16)
	}
	r.TSAName = len(tst.TSA.FullBytes) > 0
	for _, e := range tst.Extensions {
		r.TSTExtensions = append(r.TSTExtensions, extensionReport{OID: e.Id.String(), Critical: e.Critical})
	}
	if len(sd.SignerInfos) != 1 {
		r.Error = fmt.Sprintf("%d signer infos", len(sd.SignerInfos))
		return r
	}
	si := sd.SignerInfos[0]
	r.DigestAlgorithm = si.DigestAlgorithm.Algorithm.String()
	r.SignatureAlg = si.SignatureAlgorithm.Algorithm.String()
	for _, a := range si.SignedAttrs {
		r.SignedAttributes = append(r.SignedAttributes, a.Type.String())
	}
	// certificates [0] IMPLICIT CertificateSet: the concatenated certificates.
	var parsed []*x509.Certificate
	rest := sd.Certificates.Bytes
	for i := 0; len(rest) > 0; i++ {
		var raw asn1.RawValue
		var err error
		rest, err = asn1.Unmarshal(rest, &raw)
		if err != nil {
			r.Error = "certificates: " + err.Error()
			return r
		}
		cr, c := describeCertificate(fmt.Sprintf("%s certificate %d", name, i), raw.FullBytes)
		r.Certificates = append(r.Certificates, cr)
		if c != nil {
			parsed = append(parsed, c)
		}
	}
	if len(parsed) > 0 {
		// RFC 3161 2.3: the TSA certificate (the first here) must chain for id-kp-timeStamping.
		cr := verifyChain(name, parsed[0], parsed[1:], roots, at, "timeStamping")
		r.TimeStampingChain = &cr
	}
	return r
}

// walkOIDs unmarshals every OBJECT IDENTIFIER in der with encoding/asn1, entering constructed
// values and OCTET STRINGs whose contents are one DER value (as the TypeScript walker does).
func walkOIDs(der []byte, out *[]string) error {
	for len(der) > 0 {
		var v asn1.RawValue
		rest, err := asn1.Unmarshal(der, &v)
		if err != nil {
			return err
		}
		switch {
		case v.Class == asn1.ClassUniversal && v.Tag == asn1.TagOID:
			var oid asn1.ObjectIdentifier
			if err := unmarshalAll(v.FullBytes, &oid); err != nil {
				return err
			}
			*out = append(*out, oid.String())
		case v.IsCompound:
			if err := walkOIDs(v.Bytes, out); err != nil {
				return err
			}
		case v.Class == asn1.ClassUniversal && v.Tag == asn1.TagOctetString:
			var inner asn1.RawValue
			if r, err := asn1.Unmarshal(v.Bytes, &inner); err == nil && len(r) == 0 && inner.IsCompound {
				var found []string
				if walkOIDs(v.Bytes, &found) == nil {
					*out = append(*out, found...)
				}
			}
		}
		der = rest
	}
	return nil
}

func main() {
	var req request
	if err := json.NewDecoder(os.Stdin).Decode(&req); err != nil {
		fmt.Fprintln(os.Stderr, "bad request:", err)
		os.Exit(2)
	}
	roots := x509.NewCertPool()
	for i, der := range req.Roots {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			fmt.Fprintf(os.Stderr, "root %d: %v\n", i, err)
			os.Exit(2)
		}
		roots.AddCert(c)
	}
	out := report{Certificates: []certificateReport{}, Chains: []chainReport{}, Tokens: []tokenReport{}, DER: []derReport{}}
	out.Go = runtime.Version()
	for _, c := range req.Certificates {
		r, _ := describeCertificate(c.Name, c.DER)
		out.Certificates = append(out.Certificates, r)
	}
	for _, ch := range req.Chains {
		leaf, err := x509.ParseCertificate(ch.Leaf)
		if err != nil {
			out.Chains = append(out.Chains, chainReport{Name: ch.Name, Error: err.Error()})
			continue
		}
		var inter []*x509.Certificate
		bad := ""
		for _, d := range ch.Intermediates {
			c, err := x509.ParseCertificate(d)
			if err != nil {
				bad = err.Error()
				break
			}
			inter = append(inter, c)
		}
		if bad != "" {
			out.Chains = append(out.Chains, chainReport{Name: ch.Name, Error: bad})
			continue
		}
		out.Chains = append(out.Chains, verifyChain(ch.Name, leaf, inter, roots, req.At, ch.Usage))
	}
	for _, t := range req.Tokens {
		out.Tokens = append(out.Tokens, describeToken(t.Name, t.DER, roots, req.At))
	}
	for _, d := range req.DER {
		r := derReport{Name: d.Name, OIDs: []string{}}
		if err := walkOIDs(d.DER, &r.OIDs); err != nil {
			r.Error = err.Error()
		}
		out.DER = append(out.DER, r)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", " ")
	if err := enc.Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
}
