package dmarc_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/heraldmail/herald/internal/xsdtest"
)

func loadSchema(t *testing.T, path string) *xsdtest.Schema {
	t.Helper()
	s, err := xsdtest.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// validate checks an XML document against s.
func validate(t *testing.T, s *xsdtest.Schema, doc []byte) []string {
	t.Helper()
	errs, err := s.Validate(bytes.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	return errs
}

// TestSchemaValidator makes sure the validator rejects what it should, so
// that a passing report test means something.
func TestSchemaValidator(t *testing.T) {
	s := loadSchema(t, "testdata/rfc7489-appendix-c.xsd")
	valid := `<feedback><version>1.0</version>
<report_metadata><org_name>o</org_name><email>e@x</email><report_id>1</report_id><date_range><begin>1</begin><end>2</end></date_range></report_metadata>
<policy_published><domain>example.com</domain><p>none</p><sp>none</sp><pct>100</pct><fo>0</fo></policy_published>
<record><row><source_ip>192.0.2.1</source_ip><count>1</count><policy_evaluated><disposition>none</disposition><dkim>pass</dkim><spf>fail</spf></policy_evaluated></row>
<identifiers><header_from>example.com</header_from></identifiers><auth_results><spf><domain>example.com</domain><scope>mfrom</scope><result>pass</result></spf></auth_results></record></feedback>`
	if errs := validate(t, s, []byte(valid)); len(errs) > 0 {
		t.Fatalf("valid document rejected: %v", errs)
	}
	for name, bad := range map[string][2]string{
		"order":        {"<org_name>o</org_name><email>e@x</email>", "<email>e@x</email><org_name>o</org_name>"},
		"missing":      {"<report_id>1</report_id>", ""},
		"enum":         {"<disposition>none</disposition>", "<disposition>discard</disposition>"},
		"pattern":      {"<source_ip>192.0.2.1</source_ip>", "<source_ip>2001:db8::1</source_ip>"},
		"integer":      {"<count>1</count>", "<count>one</count>"},
		"unknown":      {"<fo>0</fo>", "<fo>0</fo><np>none</np>"},
		"twice in all": {"<pct>100</pct>", "<pct>100</pct><pct>50</pct>"},
		"no spf":       {"<spf><domain>example.com</domain><scope>mfrom</scope><result>pass</result></spf>", ""},
		"no record":    {"<record>", "<x>"},
	} {
		doc := strings.Replace(valid, bad[0], bad[1], 1)
		if doc == valid {
			t.Fatalf("%s: replacement did not apply", name)
		}
		if name == "no record" {
			doc = strings.Replace(strings.Replace(valid, "<record>", "", 1), "</record>", "", 1)
		}
		if errs := validate(t, s, []byte(doc)); len(errs) == 0 {
			t.Errorf("%s: invalid document accepted", name)
		}
	}
}
