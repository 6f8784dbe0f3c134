require ["date", "relational", "fileinto"];
if allof(header :is "from" "boss@example.com",
         currentdate :value "ge" "hour" "09",
         currentdate :value "lt" "hour" "17")
{ fileinto "urgent"; }
