// Package dns is a VPC's resolver (AWS's "AmazonProvidedDNS" at the VPC's base + 2): it answers
// A queries for the private DNS names of the VPC's addresses (ip-10-0-1-5.ec2.internal,
// ip-10-0-1-5.<region>.compute.internal) itself and forwards everything else to upstream
// resolvers. The wire format (RFC 1035) is parsed and built here with the standard library:
// a header, one question, A answers.
package dns

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Record types and the class this package knows.
const (
	TypeA    uint16 = 1
	TypeAAAA uint16 = 28
	TypeANY  uint16 = 255
	ClassIN  uint16 = 1
)

// Response codes.
const (
	RcodeSuccess  = 0
	RcodeFormErr  = 1
	RcodeServFail = 2
	RcodeNXDomain = 3
	RcodeNotImp   = 4
	RcodeRefused  = 5
)

// Header flag bits.
const (
	flagQR = 1 << 15
	flagAA = 1 << 10
	flagTC = 1 << 9
	flagRD = 1 << 8
	flagRA = 1 << 7
)

const headerLen = 12

// maxUDP is the largest message a client without EDNS accepts over UDP.
const maxUDP = 512

// Query is a parsed DNS query: its header id and flags and its one question.
type Query struct {
	ID    uint16
	Flags uint16
	Name  string // lower case, without the trailing dot ("" for the root)
	Type  uint16
	Class uint16
	// question is the question section as received (name, type and class), echoed in answers.
	question []byte
}

// RD says whether the client asked for recursion.
func (q Query) RD() bool { return q.Flags&flagRD != 0 }

var (
	errShort    = errors.New("dns: message too short")
	errNotQuery = errors.New("dns: not a standard query")
)

// ParseQuery reads a query: a header with QR clear, opcode QUERY and exactly one question.
// Answer, authority and additional sections (an EDNS OPT record) are ignored.
func ParseQuery(b []byte) (Query, error) {
	if len(b) < headerLen {
		return Query{}, errShort
	}
	q := Query{ID: binary.BigEndian.Uint16(b[0:]), Flags: binary.BigEndian.Uint16(b[2:])}
	if q.Flags&flagQR != 0 || (q.Flags>>11)&0xF != 0 {
		return q, errNotQuery
	}
	if n := binary.BigEndian.Uint16(b[4:]); n != 1 {
		return q, fmt.Errorf("dns: %d questions, want 1", n)
	}
	name, end, err := readName(b, headerLen)
	if err != nil {
		return q, err
	}
	if end+4 > len(b) {
		return q, errShort
	}
	q.Name = name
	q.Type = binary.BigEndian.Uint16(b[end:])
	q.Class = binary.BigEndian.Uint16(b[end+2:])
	q.question = b[headerLen : end+4]
	return q, nil
}

// readName reads a (possibly compressed) name at off and returns it in lower case without the
// trailing dot, and the offset just past it in the message.
func readName(b []byte, off int) (string, int, error) {
	var labels []string
	end := -1
	total := 0
	for jumps := 0; ; {
		if off >= len(b) {
			return "", 0, errShort
		}
		l := int(b[off])
		switch {
		case l == 0:
			if end < 0 {
				end = off + 1
			}
			return strings.ToLower(strings.Join(labels, ".")), end, nil
		case l&0xC0 == 0xC0:
			if off+1 >= len(b) {
				return "", 0, errShort
			}
			if end < 0 {
				end = off + 2
			}
			if jumps++; jumps > 16 {
				return "", 0, errors.New("dns: name compression loop")
			}
			off = int(binary.BigEndian.Uint16(b[off:]) & 0x3FFF)
		case l&0xC0 != 0:
			return "", 0, fmt.Errorf("dns: label type %#x", l&0xC0)
		default:
			if off+1+l > len(b) {
				return "", 0, errShort
			}
			if total += l + 1; total > 255 {
				return "", 0, errors.New("dns: name longer than 255 bytes")
			}
			labels = append(labels, string(b[off+1:off+1+l]))
			off += 1 + l
		}
	}
}

// Response builds the answer to q with rcode and A records for addrs (each named by a pointer
// to the question's name). authoritative sets AA: the answer is from the zone's own server.
func Response(q Query, rcode int, authoritative bool, ttl uint32, addrs ...netip.Addr) []byte {
	flags := uint16(flagQR|flagRA) | q.Flags&flagRD | uint16(rcode&0xF)
	if authoritative {
		flags |= flagAA
	}
	b := make([]byte, headerLen, headerLen+len(q.question)+16*len(addrs))
	binary.BigEndian.PutUint16(b[0:], q.ID)
	binary.BigEndian.PutUint16(b[2:], flags)
	if len(q.question) > 0 {
		binary.BigEndian.PutUint16(b[4:], 1)
	}
	binary.BigEndian.PutUint16(b[6:], uint16(len(addrs)))
	b = append(b, q.question...)
	for _, a := range addrs {
		ip := a.As4()
		b = append(b, 0xC0, headerLen) // the question's name
		b = binary.BigEndian.AppendUint16(b, TypeA)
		b = binary.BigEndian.AppendUint16(b, ClassIN)
		b = binary.BigEndian.AppendUint32(b, ttl)
		b = binary.BigEndian.AppendUint16(b, 4)
		b = append(b, ip[:]...)
	}
	return b
}

// ErrorResponse answers a message that ParseQuery could not read: the request's id (when it
// has one) and rcode, with no question.
func ErrorResponse(req []byte, rcode int) []byte {
	var q Query
	if len(req) >= 4 {
		q.ID = binary.BigEndian.Uint16(req)
		q.Flags = binary.BigEndian.Uint16(req[2:]) & flagRD
	}
	return Response(q, rcode, false, 0)
}

// Zone says how the VPC's resolver treats a name. In the private DNS zone (ec2.internal, or
// <region>.compute.internal) it answers itself; other names are forwarded.
type Zone struct {
	// Local is true for names in the private DNS zone.
	Local bool
	// Apex is true for the zone itself (a name that exists, with no A record).
	Apex bool
	// Addr is the address of an ip-a-b-c-d name of the zone inside the VPC's CIDR; invalid for
	// every other name (which does not exist).
	Addr netip.Addr
}

// Lookup classifies name (lower case, no trailing dot) for a VPC with CIDR vpc.
func Lookup(name string, vpc netip.Prefix) Zone {
	if inPrivateZone(name) {
		return Zone{Local: true, Apex: true}
	}
	if name == "compute.internal" {
		return Zone{Local: true, Apex: true}
	}
	host, zone, _ := strings.Cut(name, ".")
	if !inPrivateZone(zone) {
		if strings.HasSuffix(name, ".ec2.internal") || strings.HasSuffix(name, ".compute.internal") {
			return Zone{Local: true} // deeper names in the zone: none exist
		}
		return Zone{}
	}
	if a, ok := hostAddr(host); ok && vpc.Contains(a) {
		return Zone{Local: true, Addr: a}
	}
	return Zone{Local: true}
}

// inPrivateZone says whether zone is ec2.internal or <one label>.compute.internal.
func inPrivateZone(zone string) bool {
	if zone == "ec2.internal" {
		return true
	}
	region, ok := strings.CutSuffix(zone, ".compute.internal")
	return ok && region != "" && !strings.Contains(region, ".")
}

// hostAddr parses "ip-10-0-1-5" as 10.0.1.5.
func hostAddr(label string) (netip.Addr, bool) {
	rest, ok := strings.CutPrefix(label, "ip-")
	if !ok {
		return netip.Addr{}, false
	}
	parts := strings.Split(rest, "-")
	if len(parts) != 4 {
		return netip.Addr{}, false
	}
	var ip [4]byte
	for i, p := range parts {
		if p == "" || len(p) > 3 || (len(p) > 1 && p[0] == '0') {
			return netip.Addr{}, false
		}
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > 255 {
			return netip.Addr{}, false
		}
		ip[i] = byte(n)
	}
	return netip.AddrFrom4(ip), true
}
