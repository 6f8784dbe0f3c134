package mime

import (
	"io"
	"strings"
	"testing"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
)

// TestPartTextCharsets converts bodies in the charsets real mail uses.
func TestPartTextCharsets(t *testing.T) {
	t.Parallel()
	tests := []struct {
		charset string
		enc     encoding.Encoding
		text    string
	}{
		{"ISO-8859-1", charmap.ISO8859_1, "Voilà, ça coûte 5 francs"},
		{"iso-8859-2", charmap.ISO8859_2, "Zażółć gęślą jaźń"},
		{"ISO-8859-15", charmap.ISO8859_15, "Prix: 5 €"},
		{"windows-1252", charmap.Windows1252, "“quoted” – dash"},
		{"windows-1251", charmap.Windows1251, "Привет, мир"},
		{"KOI8-R", charmap.KOI8R, "Привет, мир"},
		{"ISO-2022-JP", japanese.ISO2022JP, "日本語のメール"},
		{"Shift_JIS", japanese.ShiftJIS, "日本語のメール"},
		{"EUC-JP", japanese.EUCJP, "日本語のメール"},
		{"EUC-KR", korean.EUCKR, "한국어 메일"},
		{"GB18030", simplifiedchinese.GB18030, "中文邮件"},
		{"Big5", traditionalchinese.Big5, "中文郵件"},
	}
	for _, tt := range tests {
		encoded, err := tt.enc.NewEncoder().String(tt.text)
		if err != nil {
			t.Fatalf("%s: %v", tt.charset, err)
		}
		msg := "Content-Type: text/plain; charset=\"" + tt.charset + "\"\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + encoded
		p, err := NewReader(strings.NewReader(msg), nil).Next()
		if err != nil {
			t.Fatal(err)
		}
		r, err := p.Text()
		if err != nil {
			t.Errorf("%s: %v", tt.charset, err)
			continue
		}
		got, _ := io.ReadAll(r)
		if string(got) != tt.text {
			t.Errorf("%s: got %q, want %q", tt.charset, got, tt.text)
		}
	}
}
