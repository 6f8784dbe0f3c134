require ["imap4flags", "variables", "relational", "comparator-i;ascii-numeric", "fileinto"];
setflag "MyVar" "label";
if anyof(hasflag :contains "MyVar" "Junk",
         hasflag :contains "MyVar" ["label", "forward"],
         hasflag :count "ge" :comparator "i;ascii-numeric"
             "MyFlags" "2") {
    fileinto :flags "\\Deleted" "INBOX.From Boss";
    keep :flags "hello";
}
