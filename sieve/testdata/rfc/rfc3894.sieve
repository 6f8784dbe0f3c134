require ["copy", "fileinto"];
if header :contains "subject" "hello" {
    fileinto :copy "Hellos";
}
redirect :copy "sent@example.com";
