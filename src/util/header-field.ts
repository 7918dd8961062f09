/** One header of a message as the MTA hands it over and MIME reads it: the name and the raw value. */
export interface HeaderField {
  name: string;
  value: string;
}
