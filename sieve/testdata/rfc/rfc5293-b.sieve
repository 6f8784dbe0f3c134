require ["editheader", "index"];
deleteheader :index 1 :last "Received";
deleteheader :contains "To" "postmaster";
addheader :last "X-Hello" "World";
