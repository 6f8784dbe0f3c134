require ["variables", "date", "editheader"];
if currentdate :matches "std11" "*"
    {addheader "Processing-date" "${0}";}
