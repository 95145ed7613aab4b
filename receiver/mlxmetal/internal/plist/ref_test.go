package plist

// The reference parser: the first implementation of this package, built on encoding/xml.
// It is kept in the tests as the oracle the fast scanner is checked against.

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// Parse parses an XML property list with DefaultLimits.

// ParseLimits parses an XML property list. The document must hold exactly one top-level
// value, inside <plist> or bare.
func refParseLimits(doc []byte, lim Limits) (Value, error) {
	if lim.MaxBytes > 0 && len(doc) > lim.MaxBytes {
		return Value{}, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(doc), lim.MaxBytes)
	}
	p := refParser{dec: xml.NewDecoder(bytes.NewReader(doc)), lim: lim}
	// Property lists carry no entities beyond the XML built-ins; refusing others keeps
	// the decoder from expanding anything.
	p.dec.Strict = true
	p.dec.Entity = nil
	var (
		root    Value
		haveTop bool
		inPlist bool
	)
	for {
		tok, err := p.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return Value{}, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Local == "plist" && !inPlist && !haveTop {
				inPlist = true
				continue
			}
			if haveTop {
				return Value{}, p.errf("more than one top-level value (<%s>)", t.Name.Local)
			}
			v, err := p.value(t, 1)
			if err != nil {
				return Value{}, err
			}
			root, haveTop = v, true
		case xml.EndElement:
			if t.Name.Local == "plist" && inPlist {
				inPlist = false
				continue
			}
			return Value{}, p.errf("unexpected </%s>", t.Name.Local)
		case xml.CharData:
			if len(bytes.TrimSpace(t)) != 0 {
				return Value{}, p.errf("text outside a value")
			}
		}
	}
	if inPlist {
		return Value{}, p.errf("unterminated <plist>")
	}
	if !haveTop {
		return Value{}, p.errf("no value in document")
	}
	return root, nil
}

type refParser struct {
	dec    *xml.Decoder
	lim    Limits
	values int
}

func (p *refParser) errf(format string, args ...any) error {
	line, col := p.dec.InputPos()
	return fmt.Errorf("plist: line %d col %d: %s", line, col, fmt.Sprintf(format, args...))
}

// next returns the next token that matters: start/end elements and character data;
// comments, processing instructions and the DOCTYPE directive are skipped.
func (p *refParser) next() (xml.Token, error) {
	for {
		tok, err := p.dec.RawToken()
		if err != nil {
			if err == io.EOF {
				return nil, err
			}
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				return nil, fmt.Errorf("plist: malformed XML at line %d: %s", se.Line, se.Msg)
			}
			return nil, fmt.Errorf("plist: %w", err)
		}
		switch tok.(type) {
		case xml.Comment, xml.ProcInst, xml.Directive:
			continue
		}
		return tok, nil
	}
}

// text reads character data up to the end element named name.
func (p *refParser) text(name string) (string, error) {
	var sb strings.Builder
	for {
		tok, err := p.next()
		if err == io.EOF {
			return "", p.errf("unterminated <%s>", name)
		}
		if err != nil {
			return "", err
		}
		switch t := tok.(type) {
		case xml.CharData:
			sb.Write(t)
		case xml.EndElement:
			if t.Name.Local != name {
				return "", p.errf("<%s> closed by </%s>", name, t.Name.Local)
			}
			return sb.String(), nil
		case xml.StartElement:
			return "", p.errf("element <%s> inside <%s>", t.Name.Local, name)
		}
	}
}

// empty consumes the end element of a value that has no content (<true/>, <false/>).
func (p *refParser) empty(name string) error {
	s, err := p.text(name)
	if err != nil {
		return err
	}
	if strings.TrimSpace(s) != "" {
		return p.errf("<%s> must be empty", name)
	}
	return nil
}

func (p *refParser) value(start xml.StartElement, depth int) (Value, error) {
	p.values++
	if p.lim.MaxValues > 0 && p.values > p.lim.MaxValues {
		return Value{}, fmt.Errorf("%w: more than %d values", ErrTooLarge, p.lim.MaxValues)
	}
	if p.lim.MaxDepth > 0 && depth > p.lim.MaxDepth {
		return Value{}, fmt.Errorf("%w: nesting deeper than %d", ErrTooLarge, p.lim.MaxDepth)
	}
	name := start.Name.Local
	switch name {
	case "string":
		s, err := p.text(name)
		return Value{Kind: String, Str: s}, err
	case "integer":
		s, err := p.text(name)
		if err != nil {
			return Value{}, err
		}
		return p.integer(strings.TrimSpace(s))
	case "real":
		s, err := p.text(name)
		if err != nil {
			return Value{}, err
		}
		f, perr := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if perr != nil {
			return Value{}, p.errf("bad <real> %q", clip(s))
		}
		return Value{Kind: Real, Real: f}, nil
	case "true", "false":
		if err := p.empty(name); err != nil {
			return Value{}, err
		}
		return Value{Kind: Bool, Bool: name == "true"}, nil
	case "data":
		s, err := p.text(name)
		if err != nil {
			return Value{}, err
		}
		b, derr := decodeData(s)
		if derr != nil {
			return Value{}, p.errf("bad <data>: %v", derr)
		}
		return Value{Kind: Data, Bytes: b}, nil
	case "date":
		s, err := p.text(name)
		if err != nil {
			return Value{}, err
		}
		t, terr := time.Parse(time.RFC3339, strings.TrimSpace(s))
		if terr != nil {
			return Value{}, p.errf("bad <date> %q", clip(s))
		}
		return Value{Kind: Date, Time: t}, nil
	case "array":
		return p.array(depth)
	case "dict":
		return p.dict(depth)
	}
	return Value{}, p.errf("unknown element <%s>", clip(name))
}

func (p *refParser) integer(s string) (Value, error) {
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return Value{Kind: Integer, Int: i}, nil
	}
	if u, err := strconv.ParseUint(s, 10, 64); err == nil {
		return Value{Kind: Integer, Uint: u, Unsigned: true}, nil
	}
	// CoreFoundation writes hexadecimal integers as 0x...; accept them.
	if len(s) > 2 && (s[:2] == "0x" || s[:2] == "0X") {
		if u, err := strconv.ParseUint(s[2:], 16, 64); err == nil {
			if u <= math.MaxInt64 {
				return Value{Kind: Integer, Int: int64(u)}, nil
			}
			return Value{Kind: Integer, Uint: u, Unsigned: true}, nil
		}
	}
	return Value{}, p.errf("bad <integer> %q", clip(s))
}

func (p *refParser) array(depth int) (Value, error) {
	v := Value{Kind: Array}
	for {
		tok, err := p.next()
		if err == io.EOF {
			return Value{}, p.errf("unterminated <array>")
		}
		if err != nil {
			return Value{}, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			item, err := p.value(t, depth+1)
			if err != nil {
				return Value{}, err
			}
			v.Items = append(v.Items, item)
		case xml.EndElement:
			if t.Name.Local != "array" {
				return Value{}, p.errf("<array> closed by </%s>", clip(t.Name.Local))
			}
			return v, nil
		case xml.CharData:
			if len(bytes.TrimSpace(t)) != 0 {
				return Value{}, p.errf("text inside <array>")
			}
		}
	}
}

func (p *refParser) dict(depth int) (Value, error) {
	v := Value{Kind: Dict}
	var (
		key    string
		haveKy bool
	)
	for {
		tok, err := p.next()
		if err == io.EOF {
			return Value{}, p.errf("unterminated <dict>")
		}
		if err != nil {
			return Value{}, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Local == "key" {
				if haveKy {
					return Value{}, p.errf("<key> %q has no value", clip(key))
				}
				key, err = p.text("key")
				if err != nil {
					return Value{}, err
				}
				haveKy = true
				continue
			}
			if !haveKy {
				return Value{}, p.errf("<%s> in <dict> without a <key>", clip(t.Name.Local))
			}
			item, err := p.value(t, depth+1)
			if err != nil {
				return Value{}, err
			}
			v.Keys = append(v.Keys, key)
			v.Vals = append(v.Vals, item)
			haveKy = false
		case xml.EndElement:
			if t.Name.Local != "dict" {
				return Value{}, p.errf("<dict> closed by </%s>", clip(t.Name.Local))
			}
			if haveKy {
				return Value{}, p.errf("<key> %q has no value", clip(key))
			}
			return v, nil
		case xml.CharData:
			if len(bytes.TrimSpace(t)) != 0 {
				return Value{}, p.errf("text inside <dict>")
			}
		}
	}
}
