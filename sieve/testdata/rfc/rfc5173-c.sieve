require ["body", "fileinto"];
if body :text :contains "Base64 encoded" {
        fileinto "project/schedule";
}
