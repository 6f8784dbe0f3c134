if not exists ["From","Date"] {
    discard;
}
