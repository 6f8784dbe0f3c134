// Package xsdtest is a small validator for the subset of XML Schema that
// RFC 7489 appendix C uses, for the tests of dmarc and of the example mail
// server: named complex types with xs:sequence or xs:all of elements with
// minOccurs and maxOccurs, simple types restricting xs:string by
// enumeration or pattern, and the built-in xs:string, xs:integer and
// xs:decimal. It checks element names, order (sequence), occurrence counts
// and values, which is what a report generator can get wrong.
package xsdtest

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
)

type xsdSchema struct {
	ComplexTypes []xsdComplexType `xml:"complexType"`
	SimpleTypes  []xsdSimpleType  `xml:"simpleType"`
	Elements     []xsdElement     `xml:"element"`
}

type xsdComplexType struct {
	Name     string    `xml:"name,attr"`
	Sequence *xsdGroup `xml:"sequence"`
	All      *xsdGroup `xml:"all"`
}

type xsdGroup struct {
	Elements []xsdElement `xml:"element"`
}

type xsdElement struct {
	Name        string          `xml:"name,attr"`
	Type        string          `xml:"type,attr"`
	MinOccurs   string          `xml:"minOccurs,attr"`
	MaxOccurs   string          `xml:"maxOccurs,attr"`
	ComplexType *xsdComplexType `xml:"complexType"`
}

func (e xsdElement) occurs() (min, max int) {
	min, max = 1, 1
	if e.MinOccurs != "" {
		min, _ = strconv.Atoi(e.MinOccurs)
	}
	switch e.MaxOccurs {
	case "":
	case "unbounded":
		max = 1 << 30
	default:
		max, _ = strconv.Atoi(e.MaxOccurs)
	}
	return min, max
}

type xsdSimpleType struct {
	Name        string `xml:"name,attr"`
	Restriction struct {
		Base         string `xml:"base,attr"`
		Enumerations []struct {
			Value string `xml:"value,attr"`
		} `xml:"enumeration"`
		Patterns []struct {
			Value string `xml:"value,attr"`
		} `xml:"pattern"`
	} `xml:"restriction"`
}

// Schema is a loaded schema.
type Schema struct {
	complex map[string]*xsdComplexType
	simple  map[string]*xsdSimpleType
	root    xsdElement
}

// Load reads the schema at path.
func Load(path string) (*Schema, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var x xsdSchema
	if err := xml.Unmarshal(data, &x); err != nil {
		return nil, fmt.Errorf("parse %s: %v", path, err)
	}
	s := &Schema{complex: map[string]*xsdComplexType{}, simple: map[string]*xsdSimpleType{}}
	for i := range x.ComplexTypes {
		s.complex[x.ComplexTypes[i].Name] = &x.ComplexTypes[i]
	}
	for i := range x.SimpleTypes {
		s.simple[x.SimpleTypes[i].Name] = &x.SimpleTypes[i]
	}
	if len(x.Elements) != 1 || x.Elements[0].ComplexType == nil {
		return nil, errors.New(path + ": want one root element with an inline type")
	}
	s.root = x.Elements[0]
	// Every type referred to must exist, or the validator would pass
	// elements it cannot check.
	var bad error
	var check func(ct *xsdComplexType)
	check = func(ct *xsdComplexType) {
		g := ct.Sequence
		if g == nil {
			g = ct.All
		}
		if g == nil {
			bad = fmt.Errorf("complex type %q has neither sequence nor all", ct.Name)
			return
		}
		for _, e := range g.Elements {
			if strings.HasPrefix(e.Type, "xs:") || s.simple[e.Type] != nil || s.complex[e.Type] != nil {
				continue
			}
			bad = fmt.Errorf("element %q has unknown type %q", e.Name, e.Type)
		}
	}
	for _, ct := range s.complex {
		check(ct)
	}
	check(s.root.ComplexType)
	if bad != nil {
		return nil, bad
	}
	return s, nil
}

// node is a parsed XML element.
type node struct {
	name     string
	text     string
	children []*node
}

func parseTree(r io.Reader) (*node, error) {
	dec := xml.NewDecoder(r)
	var stack []*node
	var root *node
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			n := &node{name: tok.Name.Local}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.children = append(p.children, n)
			} else if root != nil {
				return nil, fmt.Errorf("second root element %q", n.name)
			} else {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text += string(tok)
			}
		}
	}
	if root == nil {
		return nil, fmt.Errorf("no root element")
	}
	return root, nil
}

var (
	integerRE = regexp.MustCompile(`^[+-]?[0-9]+$`)
	decimalRE = regexp.MustCompile(`^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$`)
)

// validate checks n against the element declaration e and returns every
// violation found, each with the path to the element.
func (s *Schema) validate(n *node, e xsdElement, path string) []string {
	path += "/" + n.name
	if n.name != e.Name {
		return []string{path + ": want element " + e.Name}
	}
	if e.ComplexType != nil {
		return s.validateComplex(n, e.ComplexType, path)
	}
	if ct := s.complex[e.Type]; ct != nil {
		return s.validateComplex(n, ct, path)
	}
	if len(n.children) > 0 {
		return []string{path + ": simple element has child elements"}
	}
	v := strings.TrimSpace(n.text)
	typ := e.Type
	if st := s.simple[typ]; st != nil {
		if len(st.Restriction.Enumerations) > 0 {
			ok := false
			for _, en := range st.Restriction.Enumerations {
				ok = ok || en.Value == v
			}
			if !ok {
				return []string{fmt.Sprintf("%s: %q is not a value of %s", path, v, typ)}
			}
		}
		for _, p := range st.Restriction.Patterns {
			if !regexp.MustCompile(`^(?:` + p.Value + `)$`).MatchString(v) {
				return []string{fmt.Sprintf("%s: %q does not match the pattern of %s", path, v, typ)}
			}
		}
		typ = st.Restriction.Base
	}
	switch typ {
	case "xs:integer":
		if !integerRE.MatchString(v) {
			return []string{fmt.Sprintf("%s: %q is not an xs:integer", path, v)}
		}
	case "xs:decimal":
		if !decimalRE.MatchString(v) {
			return []string{fmt.Sprintf("%s: %q is not an xs:decimal", path, v)}
		}
	case "xs:string":
	default:
		return []string{path + ": unknown type " + typ}
	}
	return nil
}

func (s *Schema) validateComplex(n *node, ct *xsdComplexType, path string) []string {
	if strings.TrimSpace(n.text) != "" {
		return []string{path + ": text in an element of complex type"}
	}
	var errs []string
	if ct.Sequence != nil {
		i := 0
		for _, e := range ct.Sequence.Elements {
			min, max := e.occurs()
			count := 0
			for i < len(n.children) && n.children[i].name == e.Name && count < max {
				errs = append(errs, s.validate(n.children[i], e, path)...)
				i++
				count++
			}
			if count < min {
				errs = append(errs, fmt.Sprintf("%s: %d %s elements here, want at least %d", path, count, e.Name, min))
			}
		}
		for ; i < len(n.children); i++ {
			errs = append(errs, path+": unexpected element "+n.children[i].name+" (wrong order or not in the schema)")
		}
		return errs
	}
	seen := map[string]int{}
	for _, c := range n.children {
		var decl *xsdElement
		for i := range ct.All.Elements {
			if ct.All.Elements[i].Name == c.name {
				decl = &ct.All.Elements[i]
			}
		}
		if decl == nil {
			errs = append(errs, path+": element "+c.name+" not in the schema")
			continue
		}
		seen[c.name]++
		errs = append(errs, s.validate(c, *decl, path)...)
	}
	for _, e := range ct.All.Elements {
		min, _ := e.occurs()
		if seen[e.Name] > 1 {
			errs = append(errs, fmt.Sprintf("%s: %d %s elements, want at most 1", path, seen[e.Name], e.Name))
		}
		if seen[e.Name] < min {
			errs = append(errs, path+": missing element "+e.Name)
		}
	}
	return errs
}

// Validate checks the document read from r against the schema's root
// element and returns every violation found, each with the path to the
// element; the error is that of parsing the document.
func (s *Schema) Validate(r io.Reader) ([]string, error) {
	n, err := parseTree(r)
	if err != nil {
		return nil, err
	}
	return s.validate(n, s.root, ""), nil
}
