require ["ereject"];

if header :contains "from" "coyote@desert.example.org" {
    ereject "I am not taking mail from you, and I don't
    want your birdseed, either!";
}
