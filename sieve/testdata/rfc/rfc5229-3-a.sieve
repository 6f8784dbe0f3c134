require ["encoded-character", "variables", "fileinto"];

set "dollar" "$";
set "text" "regarding ${dollar}{beep}";

set "name" "Ethelbert";
if header :contains "Subject" "dear${hex:20 24 7b 4e}ame}" {
    # the test string is "dear Ethelbert"
    fileinto "${text}";
}
